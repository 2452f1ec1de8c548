//! The guard every console page takes: [`Staff<P>`] as a handler's first argument
//! answers a request without a console session with a 303 to the console's
//! sign-in, and a staff member whose role lacks `P`'s permission with a 403.

use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::domain::{Actor, LocalPath, Permission, StaffMember};
use crate::error::AppError;

/// The console session of this request, put into its extensions by the console's
/// session middleware once it has checked the cookie.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub member: StaffMember,
    /// The token every console form carries.
    pub csrf_token: String,
}

/// What a marker type in [`may`] stands for.
pub trait Needs {
    /// `None`: any signed-in staff member.
    const PERMISSION: Option<Permission>;
}

/// The permission markers for [`Staff`]: one per row of SPEC §8's roles table,
/// and `Any` for pages every staff member may open (the console's home,
/// signing out).
pub mod may {
    use super::Needs;
    use crate::domain::Permission;

    macro_rules! markers {
        ($($marker:ident),* $(,)?) => {
            $(
                #[derive(Debug)]
                pub struct $marker;
                impl Needs for $marker {
                    const PERMISSION: Option<Permission> = Some(Permission::$marker);
                }
            )*
        };
    }

    markers!(
        ViewCustomers,
        UnlockAndReset,
        GoodwillGrant,
        ManageCredits,
        ManageCodes,
        Refund,
        Approve,
        Reports,
        Audit,
        Catalog,
        ManageStaff,
        Settings,
    );

    #[derive(Debug)]
    pub struct Any;
    impl Needs for Any {
        const PERMISSION: Option<Permission> = None;
    }
}

/// A signed-in staff member whose role allows `P`.
#[derive(Debug)]
pub struct Staff<P> {
    pub member: StaffMember,
    pub csrf_token: String,
    /// The path this request asked for, so the console's layout can mark the
    /// section it is in.
    path: String,
    needs: PhantomData<P>,
}

impl<P> Staff<P> {
    /// The member as the actor of the change this request makes.
    pub fn actor(&self) -> Actor {
        self.member.actor()
    }

    /// The path this request asked for (without its query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Checks a console form's `csrf_token` against this session's: every console
    /// POST calls it before changing anything (a mismatch is a 403).
    pub fn verify_csrf(&self, submitted: &str) -> Result<(), AppError> {
        super::session::verify_csrf(&self.csrf_token, submitted)
    }
}

impl<P: Needs> FromRequest for Staff<P> {
    type Error = AppError;
    type Future = Ready<Result<Staff<P>, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = request.extensions().get::<ConsoleSession>().cloned();
        ready(match session {
            None => {
                let here = request.uri().path_and_query().map(|pq| pq.as_str());
                Err(AppError::ConsoleSignInRequired(LocalPath::or_home(here)))
            }
            Some(session) => match P::PERMISSION {
                Some(permission) if !session.member.role.may(permission) => {
                    Err(AppError::Forbidden(permission.describe()))
                }
                _ => Ok(Staff {
                    member: session.member,
                    csrf_token: session.csrf_token,
                    path: request.path().to_owned(),
                    needs: PhantomData,
                }),
            },
        })
    }
}

/// A handler's arguments that start with `First`.
pub trait StartsWith<First> {}

macro_rules! starts_with {
    ($($rest:ident),*) => {
        impl<First, $($rest),*> StartsWith<First> for (First, $($rest,)*) {}
    };
}
starts_with!();
starts_with!(A);
starts_with!(A, B);
starts_with!(A, B, C);
starts_with!(A, B, C, D);
starts_with!(A, B, C, D, E);

/// Compiles only for a handler whose first argument is `Staff<P>`.
pub fn guarded<P, F, Args>(_handler: &F)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + StartsWith<Staff<P>>,
{
}
