//! The address a request came from, for the throttles.

use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

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
                .filter_map(forwarded_address)
                .last();
            if let Some(client) = forwarded {
                return Some(ClientAddress(client));
            }
        }
        Some(ClientAddress(peer))
    }

    /// What the throttles count by: an IPv4 address, or an IPv6 address's /64
    /// network, since one subscriber is usually given a whole /64 and could
    /// otherwise take a new address for every guess.
    pub fn network(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
                }
            },
        }
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port
/// (`192.0.2.7:51234`, `[2001:db8::1]:443`), as some proxies write it.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn network(address: &str) -> String {
        ClientAddress(address.parse().unwrap()).network()
    }

    #[test]
    fn an_ipv6_address_counts_by_its_64_network() {
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network("2001:db8:1:2:ffff:1:2:3"), network("2001:db8:1:2::9"));
        assert_ne!(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
    }

    #[test]
    fn an_ipv4_address_counts_by_itself_even_when_mapped_into_ipv6() {
        assert_eq!(network("192.0.2.7"), "192.0.2.7");
        assert_eq!(network("::ffff:192.0.2.7"), "192.0.2.7");
        assert_ne!(network("192.0.2.7"), network("192.0.2.8"));
    }

    #[test]
    fn forwarded_entries_may_carry_a_port() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(forwarded_address(" 192.0.2.7 "), Some(ip("192.0.2.7")));
        assert_eq!(forwarded_address("192.0.2.7:51234"), Some(ip("192.0.2.7")));
        assert_eq!(forwarded_address("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(forwarded_address("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(forwarded_address("unknown"), None);
        assert_eq!(forwarded_address("192.0.2.7:port"), None);
    }
}
