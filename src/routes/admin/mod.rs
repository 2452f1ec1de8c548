//! The console at `/admin`: staff pages, each declaring the permission it needs.
//!
//! Every console route is registered through [`console_routes!`], which records
//! its method, path and permission in [`ROUTES`] and refuses to compile a handler
//! whose first argument is not [`Staff`] with that same permission. A test walks
//! [`ROUTES`] for every role, so a page cannot forget its permission.

pub mod console_page;
pub mod credits;
pub mod customers;
pub mod guard;
pub mod orders;

pub use guard::{ConsoleSession, Staff, may};

use crate::domain::Permission;

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
