//! `storecredit staff …`: the people who work in the console (SPEC §8).

use std::process::ExitCode;

use anyhow::Context;

use super::{open, open_existing};
use crate::clock::Clock;
use crate::config::DatabaseLocation;
use crate::domain::{Actor, DisplayName, Email, Role};
use crate::listing::{Cell, Format, Listing, for_people};
use crate::store::staff::ENROLMENT_LIFETIME;

fn email(typed: &str) -> anyhow::Result<Email> {
    Email::parse(typed).map_err(|error| anyhow::anyhow!("--email: {error}"))
}

fn role(typed: &str) -> anyhow::Result<Role> {
    Role::parse(typed).with_context(|| {
        format!(
            "--role: {:?} is not a role; use one of support, finance, manager, owner",
            for_people(typed)
        )
    })
}

/// The enrolment link a member opens: `{origin}/admin/enrol/{token}`.
pub fn enrolment_link(origin: &str, token: &str) -> String {
    format!("{}/admin/enrol/{token}", origin.trim_end_matches('/'))
}

fn need_origin(origin: Option<&str>) -> anyhow::Result<&str> {
    origin.context(
        "say where staff reach the site, for the link to work: --origin https://shop.example \
         (or STORECREDIT_PUBLIC_ORIGIN); for the demo on this computer, --origin http://127.0.0.1:8080",
    )
}

fn print_link(origin: &str, token: &str, who: &str) {
    println!("{}", enrolment_link(origin, token));
    eprintln!(
        "The link works once, for {} hours: {} opens it to choose a password and set up the second factor.",
        ENROLMENT_LIFETIME.whole_hours(),
        for_people(who)
    );
}

pub(super) fn add(
    database: &DatabaseLocation,
    typed_email: &str,
    name: &str,
    typed_role: &str,
    origin: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (email, role) = (email(typed_email)?, role(typed_role)?);
    let name = DisplayName::parse(name).map_err(|error| anyhow::anyhow!("--name: {error}"))?;
    let origin = need_origin(origin)?;
    let store = open(database)?;
    let (member, token) = store.add_staff(&Actor::command(), &email, &name, role, Clock::system().now())?;
    eprintln!(
        "Added {} <{}> as {}.",
        for_people(&member.name),
        member.email,
        member.role
    );
    print_link(origin, &token, &member.email);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(database: &DatabaseLocation, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let mut listing = Listing::new(&[
        "email",
        "name",
        "role",
        "enrolled",
        "disabled",
        "added",
        "last_sign_in",
    ]);
    for record in store.list_staff()? {
        listing.push(vec![
            Cell::text(record.member.email),
            Cell::text(record.member.name),
            Cell::text(record.member.role.as_str()),
            Cell::Flag(record.enrolled),
            record.disabled_at.map_or(Cell::Nothing("no"), Cell::Instant),
            Cell::Instant(record.created_at),
            record
                .last_signin_at
                .map_or(Cell::Nothing("never"), Cell::Instant),
        ]);
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn set_role(
    database: &DatabaseLocation,
    typed_email: &str,
    typed_role: &str,
) -> anyhow::Result<ExitCode> {
    let (email, role) = (email(typed_email)?, role(typed_role)?);
    let store = open_existing(database)?;
    let before = store.staff_member(&email)?.with_context(|| {
        format!(
            "there is no staff member with the e-mail {email}",
            email = email.as_str()
        )
    })?;
    let member = store.set_staff_role(&Actor::command(), &email, role, Clock::system().now())?;
    println!(
        "{} is now {} (was {}); their console sessions have ended.",
        member.email, member.role, before.role
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn disable(database: &DatabaseLocation, typed_email: &str) -> anyhow::Result<ExitCode> {
    let email = email(typed_email)?;
    let store = open_existing(database)?;
    let member = store.disable_staff(&Actor::command(), &email, Clock::system().now())?;
    println!(
        "{} is disabled: they cannot sign in, and their console sessions have ended.",
        member.email
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn enable(database: &DatabaseLocation, typed_email: &str) -> anyhow::Result<ExitCode> {
    let email = email(typed_email)?;
    let store = open_existing(database)?;
    let record = store.enable_staff(&Actor::command(), &email, Clock::system().now())?;
    if record.enrolled {
        println!(
            "{} is enabled again: they sign in with their password and second factor.",
            record.member.email
        );
    } else {
        println!(
            "{} is enabled again; they never enrolled, so give them a new link with `storecredit staff \
             reset --email {}`.",
            record.member.email, record.member.email
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn reset(
    database: &DatabaseLocation,
    typed_email: &str,
    origin: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let email = email(typed_email)?;
    let origin = need_origin(origin)?;
    let store = open_existing(database)?;
    let token = store.reset_staff(&Actor::command(), &email, Clock::system().now())?;
    eprintln!(
        "{}'s password and second factor no longer work, and their console sessions have ended.",
        email.as_str()
    );
    print_link(origin, &token, email.as_str());
    Ok(ExitCode::SUCCESS)
}
