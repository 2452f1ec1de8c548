//! Who the benchmark's synthetic shoppers are: shared by the seeder and the
//! session opener (`#[path]`-included, so the server's library carries neither).

/// Every synthetic shopper's password.
pub const LOAD_TEST_PASSWORD: &str = "load-test-password";

/// The e-mail address of synthetic shopper `n`.
pub fn load_test_email(n: u64) -> String {
    format!("shopper{n}@load.test")
}
