//! The console at `/admin`: staff pages, each declaring the permission it needs.
//!
//! Every console route is registered through [`console_routes!`], which records
//! its method, path and permission in [`ROUTES`] and refuses to compile a handler
//! whose first argument is not [`Staff`] with that same permission. A test walks
//! [`ROUTES`] for every role, so a page cannot forget its permission.

pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod charts;
pub mod codes;
pub mod console_page;
pub mod credits;
pub mod customers;
pub mod enrol;
pub mod fields;
pub mod grants;
pub mod guard;
pub mod home;
pub mod orders;
pub mod refunds;
pub mod reports;
pub mod session;
pub mod settings;
pub mod signin;
pub mod staff;

pub use guard::{ConsoleSession, Staff, may};
pub use session::ConsoleCookie;

use actix_web::web;

use crate::domain::{Permission, StaffMember};

crate::console_routes! {
    GET "/admin" => home::show as Any,
    POST "/admin/signout" => signin::sign_out as Any,
    GET "/admin/customers" => customers::list as ViewCustomers,
    GET "/admin/customers/{id}" => customers::show as ViewCustomers,
    POST "/admin/customers/{id}/unlock" => customers::unlock as UnlockAndReset,
    POST "/admin/customers/{id}/reset-link" => customers::reset_link as UnlockAndReset,
    POST "/admin/customers/{id}/credits" => grants::grant as GoodwillGrant,
    POST "/admin/credits/{id}/adjust" => credits::adjust as ManageCredits,
    POST "/admin/credits/{id}/revoke" => credits::revoke as ManageCredits,
    GET "/admin/orders" => orders::list as ViewCustomers,
    GET "/admin/orders/{id}" => orders::show as ViewCustomers,
    POST "/admin/orders/{id}/refund" => refunds::refund as Refund,
    GET "/admin/approvals" => approvals::list as Approve,
    POST "/admin/approvals/{id}/approve" => approvals::approve as Approve,
    POST "/admin/approvals/{id}/reject" => approvals::reject as Approve,
    GET "/admin/codes" => codes::list as ViewCustomers,
    POST "/admin/codes" => codes::create as ManageCodes,
    GET "/admin/codes/{id}" => codes::show as ViewCustomers,
    POST "/admin/codes/{id}/deactivate" => codes::deactivate as ManageCodes,
    POST "/admin/codes/{id}/reactivate" => codes::reactivate as ManageCodes,
    GET "/admin/audit" => audit::list as Audit,
    GET "/admin/staff" => staff::list as ManageStaff,
    POST "/admin/staff" => staff::add as ManageStaff,
    POST "/admin/staff/{id}/role" => staff::set_role as ManageStaff,
    POST "/admin/staff/{id}/disable" => staff::disable as ManageStaff,
    POST "/admin/staff/{id}/enable" => staff::enable as ManageStaff,
    POST "/admin/staff/{id}/reset" => staff::reset as ManageStaff,
    GET "/admin/catalog" => catalog::show as Catalog,
    POST "/admin/categories" => catalog::add_category as Catalog,
    POST "/admin/categories/{id}/rename" => catalog::rename_category as Catalog,
    POST "/admin/categories/{id}/move" => catalog::move_category as Catalog,
    POST "/admin/categories/{id}/hide" => catalog::hide_category as Catalog,
    POST "/admin/categories/{id}/show" => catalog::show_category as Catalog,
    POST "/admin/products" => catalog::add_product as Catalog,
    GET "/admin/products/{id}" => catalog::product as Catalog,
    POST "/admin/products/{id}/rename" => catalog::rename_product as Catalog,
    POST "/admin/products/{id}/price" => catalog::price_product as Catalog,
    POST "/admin/products/{id}/hide" => catalog::hide_product as Catalog,
    POST "/admin/products/{id}/show" => catalog::show_product as Catalog,
    POST "/admin/products/{id}/file" => catalog::upload_file as Catalog,
    GET "/admin/settings" => settings::show as Settings,
    POST "/admin/settings" => settings::change as Settings,
    GET "/admin/reports" => reports::show as Reports,
}

/// Wires the console: the signed-out pages (sign-in, enrolment) and every
/// guarded route of [`ROUTES`].
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            crate::routes::page("/admin/signin")
                .route(web::get().to(signin::show))
                .route(web::post().to(signin::submit)),
        )
        .service(
            crate::routes::page("/admin/enrol/{token}")
                .route(web::get().to(enrol::show))
                .route(web::post().to(enrol::submit)),
        )
        .configure(configure_guarded);
}

/// What the console's layout (`admin/base.html`) needs: the stylesheet, who is
/// signed in with the token of the sign-out form, and the path shown (to mark
/// its section in the sections nav).
#[derive(Debug, Clone)]
pub struct ConsoleChrome {
    pub stylesheet: &'static str,
    pub member: Option<StaffMember>,
    pub csrf_token: String,
    /// The path of the page shown, without its query.
    pub here: String,
}

/// The console's sections, each with what opening it needs (`None`: anyone
/// signed in); the layout shows a person the ones their role opens.
pub const SECTIONS: [(&str, &str, Option<Permission>); 10] = [
    ("Dashboard", "/admin", None),
    ("Customers", "/admin/customers", Some(Permission::ViewCustomers)),
    ("Orders", "/admin/orders", Some(Permission::ViewCustomers)),
    ("Codes", "/admin/codes", Some(Permission::ViewCustomers)),
    ("Approvals", "/admin/approvals", Some(Permission::Approve)),
    ("Reports", "/admin/reports", Some(Permission::Reports)),
    ("Audit trail", "/admin/audit", Some(Permission::Audit)),
    ("Catalog", "/admin/catalog", Some(Permission::Catalog)),
    ("Staff", "/admin/staff", Some(Permission::ManageStaff)),
    ("Settings", "/admin/settings", Some(Permission::Settings)),
];

impl ConsoleChrome {
    /// Whether the signed-in person may download lists as CSV (an export).
    pub fn may_export(&self) -> bool {
        self.member
            .as_ref()
            .is_some_and(|member| member.role.may(Permission::Reports))
    }

    /// The sections the signed-in person may open, as (label, address).
    pub fn sections(&self) -> Vec<(&'static str, &'static str)> {
        let Some(member) = &self.member else {
            return Vec::new();
        };
        SECTIONS
            .into_iter()
            .filter(|(_, _, needs)| needs.is_none_or(|permission| member.role.may(permission)))
            .map(|(label, href, _)| (label, href))
            .collect()
    }

    /// The `aria-current` of a section's link: `"page"` on the section's own
    /// page, `"true"` on a page inside it (a customer's page is in Customers),
    /// `None` elsewhere. The dashboard (`/admin`) holds only itself.
    pub fn current(&self, href: &str) -> Option<&'static str> {
        let here = self.here.trim_end_matches('/');
        let here = if here.is_empty() { "/" } else { here };
        if here == href {
            Some("page")
        } else if href != "/admin" && here.strip_prefix(href).is_some_and(|rest| rest.starts_with('/')) {
            Some("true")
        } else {
            None
        }
    }

    /// For the pages seen before signing in.
    pub fn signed_out() -> ConsoleChrome {
        ConsoleChrome {
            stylesheet: crate::routes::assets::stylesheet_url(),
            member: None,
            csrf_token: String::new(),
            here: String::new(),
        }
    }

    /// For a page a signed-in staff member sees.
    pub fn of<P>(staff: &Staff<P>) -> ConsoleChrome {
        ConsoleChrome {
            member: Some(staff.member.clone()),
            csrf_token: staff.csrf_token.clone(),
            here: staff.path().to_owned(),
            ..ConsoleChrome::signed_out()
        }
    }

    /// For a page drawn outside a handler (an error page under `/admin`): the
    /// console session the request carries, if any, whatever its role.
    pub fn of_request(request: &actix_web::HttpRequest) -> ConsoleChrome {
        use actix_web::HttpMessage;
        let session = request.extensions().get::<ConsoleSession>().cloned();
        ConsoleChrome {
            member: session.as_ref().map(|session| session.member.clone()),
            csrf_token: session.map(|session| session.csrf_token).unwrap_or_default(),
            here: request.path().to_owned(),
            ..ConsoleChrome::signed_out()
        }
    }
}

/// A console route as registered: what a test walks for every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleRoute {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path as registered, with `{id}` for an object's number.
    pub path: &'static str,
    /// What the route needs; `None` for any signed-in staff member.
    pub permission: Option<Permission>,
}

/// Registers console routes and lists them in `ROUTES`:
/// `GET "/admin/customers" => customers::list as ViewCustomers,` (the marker
/// names a type in [`may`]). Each handler's first argument must be
/// `Staff<may::ThatMarker>`, or the build fails:
///
/// ```compile_fail
/// use storecredit::routes::admin::{Staff, may};
/// async fn refund(_: Staff<may::ViewCustomers>) -> &'static str { "refunded" }
/// mod table {
///     storecredit::console_routes! { POST "/admin/orders/{id}/refund" => super::refund as Refund }
/// }
/// ```
///
/// ```compile_fail
/// async fn unguarded() -> &'static str { "open to all" }
/// mod table {
///     storecredit::console_routes! { GET "/admin/secret" => super::unguarded as Any }
/// }
/// ```
#[macro_export]
macro_rules! console_routes {
    ($( $method:ident $path:literal => $handler:path as $needs:ident ),* $(,)?) => {
        /// Every console route behind a staff session, with what it needs.
        pub const ROUTES: &[$crate::routes::admin::ConsoleRoute] = &[
            $( $crate::routes::admin::ConsoleRoute {
                method: stringify!($method),
                path: $path,
                permission: <$crate::routes::admin::may::$needs as $crate::routes::admin::guard::Needs>::PERMISSION,
            }, )*
        ];

        /// Registers every console route behind a staff session.
        pub fn configure_guarded(config: &mut actix_web::web::ServiceConfig) {
            $(
                $crate::routes::admin::guard::guarded::<$crate::routes::admin::may::$needs, _, _>(&$handler);
                config.route($path, $crate::console_routes!(@method $method).to($handler));
            )*
        }
    };
    (@method GET) => { actix_web::web::get() };
    (@method POST) => { actix_web::web::post() };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::admin::{Staff, may};

    async fn customers(_: Staff<may::ViewCustomers>) -> &'static str {
        "customers"
    }

    async fn refund(_: Staff<may::Refund>, _: actix_web::web::Path<i64>) -> &'static str {
        "refunded"
    }

    mod table {
        crate::console_routes! {
            GET "/admin/customers" => super::customers as ViewCustomers,
            POST "/admin/orders/{id}/refund" => super::refund as Refund,
        }
    }

    fn chrome_at(here: &str) -> ConsoleChrome {
        ConsoleChrome {
            here: here.to_owned(),
            ..ConsoleChrome::signed_out()
        }
    }

    #[test]
    fn a_section_is_current_on_its_page_and_the_pages_inside_it() {
        assert_eq!(chrome_at("/admin").current("/admin"), Some("page"));
        assert_eq!(chrome_at("/admin/customers").current("/admin"), None);
        assert_eq!(
            chrome_at("/admin/customers").current("/admin/customers"),
            Some("page")
        );
        assert_eq!(
            chrome_at("/admin/customers/12").current("/admin/customers"),
            Some("true")
        );
        assert_eq!(chrome_at("/admin/customersx").current("/admin/customers"), None);
        assert_eq!(chrome_at("/admin/orders/3").current("/admin/customers"), None);
        assert_eq!(chrome_at("/admin/signin").current("/admin"), None);
    }

    #[test]
    fn the_table_lists_each_route_with_its_permission() {
        assert_eq!(
            table::ROUTES,
            [
                ConsoleRoute {
                    method: "GET",
                    path: "/admin/customers",
                    permission: Some(Permission::ViewCustomers),
                },
                ConsoleRoute {
                    method: "POST",
                    path: "/admin/orders/{id}/refund",
                    permission: Some(Permission::Refund),
                },
            ]
        );
        let _ = actix_web::App::new().configure(table::configure_guarded);
    }
}
