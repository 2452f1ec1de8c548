// Progressive enhancement for storecredit pages. Everything works without it:
// the balance control is a plain link that opens /balance in a new tab.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // "Check Your Balance": open the balances in a small pop-up window (SPEC §1.4).
  document.querySelectorAll("[data-popup-window]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var popup = window.open(
        link.href,
        link.getAttribute("data-popup-window"),
        "popup=yes,width=440,height=560,resizable=yes,scrollbars=yes"
      );
      if (popup) {
        popup.focus();
        event.preventDefault();
      }
      // A blocked pop-up falls back to the link's own new tab.
    });
  });

  // "Close window" in the pop-up. Opened as a plain tab, the page cannot close
  // itself: it keeps its link back to the store instead.
  var isPopup = window.opener !== null && window.opener !== window;
  document.querySelectorAll("[data-close-window]").forEach(function (button) {
    button.hidden = !isPopup;
    button.addEventListener("click", function () {
      window.close();
    });
  });
  document.querySelectorAll("[data-tab-only]").forEach(function (link) {
    link.hidden = isPopup;
  });

  // A form submits once: a double click on "Place your order" sends one request
  // (the server's idempotency key covers retries that get past this).
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted === "yes") {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "yes";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
  });
});
