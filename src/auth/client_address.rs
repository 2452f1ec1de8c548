//! The address a request came from, for the sign-in throttle.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::AppError;

/// The one proxy whose `X-Forwarded-For` is believed; without it the header is
/// ignored, because any client can write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrustedProxy(pub Option<IpAddr>);

/// The client's IP address: the peer, or, when the peer is the trusted proxy, the
/// address that proxy appended last to `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn of(request: &HttpRequest) -> Option<ClientAddress> {
        let peer = request.peer_addr()?.ip();
        let trusted = request
            .app_data::<web::Data<TrustedProxy>>()
            .and_then(|proxy| proxy.0)
            .is_some_and(|proxy| proxy == peer);
        if trusted {
            let forwarded = request
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .last();
            if let Some(client) = forwarded {
                return Some(ClientAddress(client));
            }
        }
        Some(ClientAddress(peer))
    }
}

impl FromRequest for ClientAddress {
    type Error = AppError;
    type Future = Ready<Result<ClientAddress, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            ClientAddress::of(request)
                .ok_or_else(|| AppError::BadRequest("The request has no client address.".into())),
        )
    }
}
