//! The command line: `serve` (the default) and the operator subcommands.

mod accounts;
mod approvals;
mod audit;
mod catalog;
mod codes;
mod copy;
mod credits;

mod mail;
mod orders;
mod reports;
mod staff;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use time::{Duration, OffsetDateTime};

use crate::auth::password;
use crate::clock::Clock;
use crate::config::{CookieSecurity, DatabaseLocation, Settings};
use crate::domain::{
    Actor, AdjustmentReason, Categories, CategorySet, CodeGrant, CreditKind, CreditSource, DiscountTerms,
    DiscountValue, DisplayName, Email, LastDay, Money, NewPassword, UserId, format_last_day,
};
use crate::startup::Application;
use crate::store::approvals::{GrantAuthority, GrantOutcome};
use crate::store::codes::{NewCode, TypedCode};
use crate::store::credits::NewCredit;
use crate::store::orders::{NewCreditWhy, RefundRequest, Refunded, RevokedShareTo};
use crate::store::{Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "storecredit",
    version,
    about = "A store-credit shop: serves the site, and manages accounts and credit"
)]
pub struct Cli {
    /// The store: an SQLite database file, or a PostgreSQL database as a
    /// postgres:// URL (add ?sslmode=require for TLS). `serve`, `user add` and
    /// `code create` create the store when missing; every other command refuses
    /// one that does not exist.
    #[arg(
        long,
        global = true,
        env = "STORECREDIT_DATABASE",
        hide_env_values = true,
        default_value = "data/storecredit.db"
    )]
    database: PathBuf,

    /// Serving options when no subcommand is given (`storecredit --bind …` is
    /// `storecredit serve --bind …`); other subcommands ignore them.
    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the website (the default command).
    Serve(ServeArgs),
    /// Add, find, inspect and unlock accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Grant, list, adjust and revoke store credit.
    #[command(subcommand)]
    Credit(CreditCommand),
    /// Add, list, rename, move, hide and show the store's departments
    /// (categories).
    #[command(subcommand)]
    Category(CategoryCommand),
    /// Add products to the catalog, rename them, change their price, give them
    /// their file, hide and
    /// show them.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Show an account's balances, as the pop-up shows them.
    Balance {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Check and read the audit trail: every change made by staff or by a command,
    /// with who, what, when and why.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the credit ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Create, list, inspect, deactivate and reactivate redeemable codes.
    #[command(subcommand)]
    Code(CodeCommand),
    /// List, inspect and refund orders.
    #[command(subcommand)]
    Order(OrderCommand),
    /// List, approve and reject grants and upward adjustments waiting for a
    /// second person (four eyes).
    #[command(subcommand)]
    Approval(ApprovalCommand),
    /// Show and change settings of the running store.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Reports: sales per day, the credit liability as of a day, codes'
    /// redemptions and value.
    #[command(subcommand)]
    Report(reports::ReportCommand),
    /// Add staff for the console at /admin, list them, change their role,
    /// disable and enable them, or start their enrolment over.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Send what the outbox holds, or list it.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Copy the database to a new file while the server runs (a checked snapshot).
    Backup {
        /// The file to create; an existing file is never overwritten.
        path: PathBuf,
    },
    /// Copy the store into an empty PostgreSQL database, every table and id in
    /// one transaction, then check it (row counts, the ledger). Stop the server
    /// first; then start it with --database set to the URL.
    Copy {
        /// The PostgreSQL database, as a postgres:// URL (add ?sslmode=require for
        /// TLS); it must be empty, and its schema is created when missing. Given
        /// through the environment, the password stays out of the process list.
        #[arg(long, env = "STORECREDIT_COPY_TO", hide_env_values = true)]
        to: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CodeKind {
    /// A promotional credit for some categories.
    Credit,
    /// Gift-card credit, valid for everything.
    GiftCard,
    /// A percentage or amount off one purchase in some categories.
    Discount,
}

#[derive(Debug, Subcommand)]
enum CategoryCommand {
    /// Add a department after the others (a store has at most 64): `--categories`
    /// accepts it at once, and a running server shows its pop-up row, its store
    /// page and its link in the navigation within a minute.
    Add {
        /// Its name in URLs, markup and `--categories`: 1 to 32 of a-z, 0-9 and -.
        #[arg(long)]
        slug: String,
        /// The name shoppers read, e.g. "Audiobooks".
        #[arg(long)]
        label: String,
    },
    /// List the departments in display order.
    List {
        #[command(flatten)]
        output: ListFormat,
    },
    /// Give a department another label (its slug and address stay).
    Rename {
        /// The department's slug (see `category list`).
        slug: String,
        /// The new name shoppers read.
        #[arg(long)]
        label: String,
    },
    /// Hide a department from shoppers: out of the navigation and listings, its
    /// products not for sale, no new code for it; credit held in it still shows.
    Hide {
        /// The department's slug.
        slug: String,
    },
    /// Show a hidden department to shoppers again.
    Show {
        /// The department's slug.
        slug: String,
    },
    /// Move a department one place up or down in display order.
    Move {
        /// The department's slug.
        slug: String,
        /// up or down.
        #[arg(long)]
        direction: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProductCommand {
    /// Add a product to a department's shelf (its store page and checkout).
    Add(NewProductArgs),
    /// Give a product another title.
    Rename {
        /// The product's number (as in /products/ID).
        id: i64,
        /// The new title.
        #[arg(long)]
        title: String,
    },
    /// Change a product's price for orders from now on.
    Price {
        /// The product's number.
        id: i64,
        /// The new price in dollars: 12.50, 12 or $12.50.
        #[arg(long)]
        price: String,
    },
    /// Hide a product: not listed, its page a 404, not for sale; past orders
    /// and receipts still show it.
    Hide {
        /// The product's number.
        id: i64,
    },
    /// Put a hidden product back on sale.
    Show {
        /// The product's number.
        id: i64,
    },
    /// Give a product the file shoppers download from "Your library": PATH is
    /// copied into the media folder as products/ID/NAME (NAME made safe), whole
    /// or not at all. The file it had stays in the folder.
    File {
        /// The product's number.
        id: i64,
        /// The file to copy (a regular file, not a folder).
        path: std::path::PathBuf,
        /// The media folder the servers serve (as `serve --media-dir`).
        #[arg(long, env = "STORECREDIT_MEDIA_DIR", default_value = "data/media")]
        media_dir: std::path::PathBuf,
    },
}

#[derive(Debug, Args)]
struct NewProductArgs {
    /// The department's slug, e.g. audiobooks (see `category list`).
    #[arg(long)]
    category: String,
    /// What shoppers see as its name.
    #[arg(long)]
    title: String,
    /// The artist, author or studio.
    #[arg(long)]
    creator: String,
    /// What kind of item it is, e.g. "Audiobook", "MP3 album", "Kindle edition".
    #[arg(long)]
    format: String,
    /// Price in dollars, e.g. 9.99.
    #[arg(long)]
    price: String,
    /// A sentence or two shown on its page.
    #[arg(long, default_value = "")]
    description: String,
    /// Show it on the home page too.
    #[arg(long)]
    featured: bool,
}

#[derive(Debug, Subcommand)]
enum CodeCommand {
    /// Create a code shoppers can redeem once each.
    Create(NewCodeArgs),
    /// List every code with its terms, redemptions and whether it is active.
    List {
        #[command(flatten)]
        output: ListFormat,
    },
    /// Show one code's terms, redemptions and whether it is active.
    Show {
        /// The code, in any case.
        code: String,
    },
    /// Stop a code from being redeemed (a leaked gift card code, a promotion
    /// pulled early); what it granted already stays.
    Deactivate {
        /// The code, in any case.
        code: String,
    },
    /// Let a deactivated code be redeemed again, within its deadline and cap.
    Reactivate {
        /// The code, in any case.
        code: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrderCommand {
    /// List orders, newest first, with how each was paid and whether it was refunded.
    List {
        /// Only this account's orders.
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        output: ListFormat,
    },
    /// Show one order: its payment breakdown, the credits it drew on and its refund.
    Show {
        /// The order's number (as `order list` and the receipt show it).
        id: i64,
    },
    /// Refund an order, in full or in part: the money goes back the way it came,
    /// card first, then gift cards, then promotional credit (as a new credit valid
    /// 30 days where that credit has expired since); a share paid from a credit
    /// revoked since is withheld unless --revoked-to says where; the one-time
    /// discount is usable again once the order is refunded in full.
    Refund {
        /// The order's number (as `order list` and the receipt show it).
        id: i64,
        /// Why, for the audit trail and the order's refund list.
        #[arg(long)]
        reason: String,
        /// How much to refund, e.g. 12.50; all that is left of the order by default.
        #[arg(long, allow_negative_numbers = true)]
        amount: Option<String>,
        /// Where a share paid from a credit revoked since goes: a new credit of the
        /// same kind and categories, or the card; withheld when not given.
        #[arg(long, value_enum)]
        revoked_to: Option<RevokedTo>,
    },
}

/// `--revoked-to`: where a refund sends a share paid from a revoked credit.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RevokedTo {
    /// A new credit of the same kind and categories, valid 30 days.
    Credit,
    /// The card the order was paid with.
    Card,
}

/// `--format` for the list commands.
#[derive(Debug, Clone, Copy, Args)]
struct ListFormat {
    /// How to print the list: an aligned table, or CSV or JSON for other programs.
    #[arg(long, value_enum, default_value_t = crate::listing::Format::Table)]
    format: crate::listing::Format,
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STORECREDIT_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Do not seed the demo catalog, account and codes into an empty database.
    #[arg(long, env = "STORECREDIT_NO_DEMO")]
    no_demo: bool,
    /// When the session cookie is `Secure` with the `__Host-` prefix: `auto` means
    /// always, except when listening on a loopback address over plain HTTP.
    #[arg(long, env = "STORECREDIT_COOKIE_SECURE", value_enum, default_value_t = CookieSecurity::Auto)]
    cookie_secure: CookieSecurity,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "STORECREDIT_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    session_idle_minutes: u32,
    /// Hours after sign-in at which a session ends however busy it is.
    #[arg(long, env = "STORECREDIT_SESSION_ABSOLUTE_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    session_absolute_hours: u32,
    /// The reverse proxy in front of the server: only requests from this address
    /// have their `X-Forwarded-For` believed (for the sign-in throttle).
    #[arg(long, env = "STORECREDIT_TRUSTED_PROXY")]
    trusted_proxy: Option<std::net::IpAddr>,
    /// The site's origin as shoppers reach it (`https://shop.example`), for the
    /// cross-site check when a proxy in front rewrites the `Host` header.
    #[arg(long, env = "STORECREDIT_PUBLIC_ORIGIN", value_parser = parse_public_origin)]
    public_origin: Option<String>,
    /// Address to serve Prometheus metrics on (`GET /metrics`), apart from the
    /// site, e.g. 127.0.0.1:9100; without it there are none.
    #[arg(long, env = "STORECREDIT_METRICS_BIND")]
    metrics_bind: Option<String>,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "STORECREDIT_WORKERS", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    #[command(flatten)]
    mail: mail::MailArgs,
    /// Only queue mail; another server or `storecredit mail send` sends it.
    #[arg(long, env = "STORECREDIT_NO_MAIL_SENDER")]
    no_mail_sender: bool,
    /// The folder of the files products deliver ("Your library"); with many
    /// servers, a folder they all share.
    #[arg(long, env = "STORECREDIT_MEDIA_DIR", default_value = "data/media")]
    media_dir: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add a staff member and print their one-time enrolment link (valid 24
    /// hours), with which they choose a password and set up the second factor.
    Add {
        /// Their e-mail address (their sign-in name at /admin/signin).
        #[arg(long)]
        email: String,
        /// Their name, as the console shows it.
        #[arg(long)]
        name: String,
        /// support, finance, manager or owner (SPEC §8's roles table).
        #[arg(long)]
        role: String,
        /// The site's origin as staff reach it, e.g. https://shop.example (the link
        /// starts with it); the server's --public-origin setting by default.
        #[arg(long, env = "STORECREDIT_PUBLIC_ORIGIN", value_parser = parse_public_origin)]
        origin: Option<String>,
    },
    /// List staff members by e-mail, with their role and state.
    List {
        #[command(flatten)]
        output: ListFormat,
    },
    /// Give a staff member another role; their console sessions end at once.
    Role {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// support, finance, manager or owner.
        #[arg(long)]
        role: String,
    },
    /// Disable a staff member: they cannot sign in, and their console sessions
    /// end at once.
    Disable {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled staff member again: they sign in as before (one who
    /// never enrolled needs `staff reset` for a new link).
    Enable {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Start a staff member's enrolment over (a lost phone or password): their
    /// password and second factor stop working, their sessions end, and a new
    /// enrolment link is printed.
    Reset {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// As for `staff add`.
        #[arg(long, env = "STORECREDIT_PUBLIC_ORIGIN", value_parser = parse_public_origin)]
        origin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is asked for without echo at a terminal,
    /// or read as one line from standard input (`… < password-file`).
    Add {
        /// The account's e-mail address (its sign-in name).
        #[arg(long)]
        email: String,
        /// The name the site greets the shopper by.
        #[arg(long)]
        name: String,
    },
    /// List accounts by e-mail, with their numbers of credits and orders.
    List {
        /// Only accounts whose e-mail or name contains this text (any case).
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        output: ListFormat,
    },
    /// Show an account: its details, balances, counts, and whether its
    /// sign-in is paused after failed attempts.
    Show {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Let an account sign in again at once after failed attempts paused it.
    Unlock {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Print a one-time link (valid 30 minutes) with which the account's owner
    /// chooses a new password, for a shopper who cannot receive the e-mail.
    ResetLink {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// The site's origin as shoppers reach it, e.g. https://shop.example (the link
        /// starts with it); the server's --public-origin setting by default.
        #[arg(long, env = "STORECREDIT_PUBLIC_ORIGIN", value_parser = parse_public_origin)]
        origin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CreditCommand {
    /// Grant a credit to an account (recorded in its ledger as an operator grant).
    Grant {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// Amount in dollars, e.g. 10.00.
        #[arg(long)]
        amount: String,
        /// Categories the promotional credit is valid for, e.g. music,kindle.
        #[arg(long, conflicts_with = "gift_card", required_unless_present = "gift_card")]
        categories: Option<String>,
        /// Grant gift-card credit (valid for everything) instead.
        #[arg(long)]
        gift_card: bool,
        /// Last day the credit can be used (YYYY-MM-DD, UTC); none means no expiry.
        #[arg(long)]
        expires: Option<String>,
        /// What the shopper sees as the credit's description.
        #[arg(long, default_value = "Credit from customer service")]
        note: String,
        /// Why, for the audit trail (the shopper does not see it).
        #[arg(long)]
        reason: String,
    },
    /// List an account's credits, newest first: kind, categories, amounts, last
    /// day, source and status.
    List {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        output: ListFormat,
    },
    /// Add to or take from what remains of a credit, with a reason kept in its
    /// ledger; never below $0.00 nor above what the credit was worth.
    Adjust {
        /// The credit's number (as `credit list` shows it).
        id: i64,
        /// The change in dollars: negative takes (-2.50), positive gives back (1.00).
        #[arg(long, allow_negative_numbers = true)]
        amount: String,
        /// Why, for whoever reads the ledger later.
        #[arg(long)]
        reason: String,
    },
    /// Take everything that remains of a credit, with a reason kept in its ledger.
    Revoke {
        /// The credit's number (as `credit list` shows it).
        id: i64,
        /// Why, for whoever reads the ledger later.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Exit 0 when every entry matches its hash and follows the one before it;
    /// otherwise name the first entry that does not (changed, removed or added by
    /// hand).
    Verify,
    /// List entries, newest first.
    List {
        /// Only changes by this actor, e.g. `staff:ann@shop.example` or `cli:root`.
        #[arg(long)]
        who: Option<String>,
        /// Only this kind of change, e.g. `credit.grant` or `order.refund`.
        #[arg(long)]
        action: Option<String>,
        /// Only changes to this shopper's account (their e-mail address).
        #[arg(long)]
        customer: Option<String>,
        /// From this day on (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Up to and including this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[command(flatten)]
        output: ListFormat,
    },
}

#[derive(Debug, Subcommand)]
enum ApprovalCommand {
    /// List the requests waiting for approval, oldest first (with --all, every
    /// request, newest first, with who decided it and why).
    List {
        /// Every request, decided ones included.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        output: ListFormat,
    },
    /// Approve a request and apply it at once (never your own).
    Approve {
        /// The request's number (as `approval list` shows it).
        id: i64,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
    },
    /// Reject a request: nothing reaches the shopper (never your own).
    Reject {
        /// The request's number (as `approval list` shows it).
        id: i64,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum SettingsCommand {
    /// Change a setting, e.g. `settings set approval-threshold 250.00`.
    Set {
        /// Which setting: approval-threshold (grants and upward adjustments
        /// above it wait for a second person's approval), support-grant-limit,
        /// support-day-limit (support staff's goodwill grants).
        #[arg(value_enum)]
        name: approvals::SettingName,
        /// The new value, an amount in dollars: 12.50, 12 or $12.50.
        value: String,
    },
    /// Show every setting's value.
    Show,
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Exit 0 when every credit's remaining amount equals the sum of its ledger.
    Verify,
}

/// Runs the parsed command; errors are printed for a person, with their causes.
pub fn run(cli: Cli) -> ExitCode {
    let database = match DatabaseLocation::parse(&cli.database) {
        Ok(location) => location,
        Err(unsupported) => {
            eprintln!("error: {unsupported}");
            return ExitCode::FAILURE;
        }
    };
    let database = &database;
    let outcome = match cli.command {
        None => serve(database, cli.serve),
        Some(Command::Serve(args)) => serve(database, args),
        Some(Command::User(UserCommand::Add { email, name })) => add_user(database, &email, &name),
        Some(Command::User(UserCommand::List { search, output })) => {
            accounts::list(database, search.as_deref(), output.format)
        }
        Some(Command::User(UserCommand::Show { email })) => accounts::show(database, &email),
        Some(Command::User(UserCommand::Unlock { email })) => accounts::unlock(database, &email),
        Some(Command::User(UserCommand::ResetLink { email, origin })) => {
            reset_link(database, &email, origin.as_deref())
        }
        Some(Command::Credit(CreditCommand::Grant {
            email,
            amount,
            categories,
            gift_card,
            expires,
            note,
            reason,
        })) => grant_credit(
            database,
            &email,
            &amount,
            categories.as_deref().filter(|_| !gift_card),
            expires.as_deref(),
            &note,
            &reason,
        ),
        Some(Command::Credit(CreditCommand::List { email, output })) => {
            credits::list(database, &email, output.format)
        }
        Some(Command::Credit(CreditCommand::Adjust { id, amount, reason })) => {
            credits::adjust(database, id, &amount, &reason)
        }
        Some(Command::Credit(CreditCommand::Revoke { id, reason })) => credits::revoke(database, id, &reason),
        Some(Command::Category(CategoryCommand::Add { slug, label })) => {
            catalog::add(database, &slug, &label)
        }
        Some(Command::Category(CategoryCommand::List { output })) => catalog::list(database, output.format),
        Some(Command::Category(CategoryCommand::Rename { slug, label })) => {
            catalog::rename(database, &slug, &label)
        }
        Some(Command::Category(CategoryCommand::Hide { slug })) => catalog::set_hidden(database, &slug, true),
        Some(Command::Category(CategoryCommand::Show { slug })) => {
            catalog::set_hidden(database, &slug, false)
        }
        Some(Command::Category(CategoryCommand::Move { slug, direction })) => {
            catalog::move_category(database, &slug, &direction)
        }
        Some(Command::Product(ProductCommand::Add(args))) => catalog::add_product(database, args),
        Some(Command::Product(ProductCommand::Rename { id, title })) => {
            catalog::rename_product(database, id, &title)
        }
        Some(Command::Product(ProductCommand::Price { id, price })) => {
            catalog::price_product(database, id, &price)
        }
        Some(Command::Product(ProductCommand::Hide { id })) => {
            catalog::set_product_hidden(database, id, true)
        }
        Some(Command::Product(ProductCommand::Show { id })) => {
            catalog::set_product_hidden(database, id, false)
        }
        Some(Command::Product(ProductCommand::File { id, path, media_dir })) => {
            catalog::product_file(database, id, &path, &media_dir)
        }
        Some(Command::Balance { email }) => show_balance(database, &email),
        Some(Command::Ledger(LedgerCommand::Verify)) => verify_ledger(database),
        Some(Command::Audit(AuditCommand::Verify)) => audit::verify(database),
        Some(Command::Audit(AuditCommand::List {
            who,
            action,
            customer,
            since,
            until,
            limit,
            output,
        })) => audit::list(
            database,
            audit::ListArgs {
                who: who.as_deref(),
                action: action.as_deref(),
                customer: customer.as_deref(),
                since: since.as_deref(),
                until: until.as_deref(),
                limit,
                format: output.format,
            },
        ),
        Some(Command::Code(CodeCommand::Create(args))) => create_code(database, args),
        Some(Command::Code(CodeCommand::List { output })) => codes::list(database, output.format),
        Some(Command::Code(CodeCommand::Show { code })) => codes::show(database, &code),
        Some(Command::Code(CodeCommand::Deactivate { code })) => codes::deactivate(database, &code),
        Some(Command::Code(CodeCommand::Reactivate { code })) => codes::reactivate(database, &code),
        Some(Command::Order(OrderCommand::List { email, output })) => {
            orders::list(database, email.as_deref(), output.format)
        }
        Some(Command::Order(OrderCommand::Show { id })) => orders::show(database, id),
        Some(Command::Order(OrderCommand::Refund {
            id,
            reason,
            amount,
            revoked_to,
        })) => refund_order(database, id, &reason, amount.as_deref(), revoked_to),
        Some(Command::Approval(ApprovalCommand::List { all, output })) => {
            approvals::list(database, all, output.format)
        }
        Some(Command::Approval(ApprovalCommand::Approve { id, reason })) => {
            approvals::approve(database, id, &reason)
        }
        Some(Command::Approval(ApprovalCommand::Reject { id, reason })) => {
            approvals::reject(database, id, &reason)
        }
        Some(Command::Settings(SettingsCommand::Set { name, value })) => {
            approvals::set(database, name, &value)
        }
        Some(Command::Settings(SettingsCommand::Show)) => approvals::show(database),
        Some(Command::Staff(StaffCommand::Add {
            email,
            name,
            role,
            origin,
        })) => staff::add(database, &email, &name, &role, origin.as_deref()),
        Some(Command::Staff(StaffCommand::List { output })) => staff::list(database, output.format),
        Some(Command::Staff(StaffCommand::Role { email, role })) => staff::set_role(database, &email, &role),
        Some(Command::Staff(StaffCommand::Disable { email })) => staff::disable(database, &email),
        Some(Command::Staff(StaffCommand::Enable { email })) => staff::enable(database, &email),
        Some(Command::Staff(StaffCommand::Reset { email, origin })) => {
            staff::reset(database, &email, origin.as_deref())
        }
        Some(Command::Report(command)) => reports::run(database, command),
        Some(Command::Mail(command)) => mail::run(database, command),
        Some(Command::Backup { path }) => backup(database, &path),
        Some(Command::Copy { to }) => copy::copy(database, &to),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(database: &DatabaseLocation, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::with_location(database.clone());
    settings.bind = args.bind;
    settings.seed_demo = !args.no_demo;
    settings.cookie_security = args.cookie_secure;
    settings.session_lifetime.idle = Duration::minutes(args.session_idle_minutes.into());
    settings.session_lifetime.absolute = Duration::hours(args.session_absolute_hours.into());
    settings.workers = args.workers.map(usize::from);
    settings.trusted_proxy = args.trusted_proxy;
    settings.public_origin = args.public_origin;
    settings.metrics_bind = args.metrics_bind;
    settings.mail = args.mail.settings(!args.no_mail_sender);
    settings.media_dir = args.media_dir;
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build(settings).await?;
        match application.metrics_address() {
            Some(metrics) => tracing::info!(
                url = application.url(),
                database = %database,
                metrics = %format!("http://{metrics}/metrics"),
                "storecredit is serving"
            ),
            None => tracing::info!(url = application.url(), database = %database, "storecredit is serving"),
        }
        application.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn reset_link(database: &DatabaseLocation, email: &str, origin: Option<&str>) -> anyhow::Result<ExitCode> {
    let origin = origin.context(
        "say where shoppers reach the site, for the link to work: --origin https://shop.example \
         (or STORECREDIT_PUBLIC_ORIGIN); for the demo on this computer, --origin http://127.0.0.1:8080",
    )?;
    let store = open_existing(database)?;
    let user = account(&store, email)?;
    let token = store.issue_reset_link(&Actor::command(), user, Clock::system().now())?;
    println!("{}", crate::auth::reset_link(origin, &token));
    eprintln!("The link works once, for 30 minutes. Setting a new password signs {email} out everywhere.");
    Ok(ExitCode::SUCCESS)
}

/// Opens the database for a command that may start a new store (the first
/// account or code of a new shop): a new file, or the schema in an empty
/// PostgreSQL database, is created; an existing store is opened as
/// [`open_existing`] does, never upgraded.
fn open(database: &DatabaseLocation) -> anyhow::Result<Store> {
    let exists = match database {
        DatabaseLocation::File(path) => path.exists(),
        DatabaseLocation::Postgres(_) => !matches!(
            Store::open_existing_location(database),
            Err(StoreError::NoStore(_))
        ),
    };
    if exists {
        return open_existing(database);
    }
    Store::open_location(database).with_context(|| format!("cannot open the database {database}"))
}

/// Opens a database that exists: every command that reads, or changes what is
/// there already, so a mistyped `--database` is an error rather than a new, empty
/// store that "has no such account".
fn open_existing(database: &DatabaseLocation) -> anyhow::Result<Store> {
    Store::open_existing_location(database).map_err(|error| match error {
        StoreError::Missing(_) | StoreError::NoStore(_) => anyhow::Error::new(error),
        other => anyhow::Error::new(other).context(format!("cannot open the database {database}")),
    })
}

fn account(store: &Store, email: &str) -> anyhow::Result<UserId> {
    let email = Email::parse(email)?;
    store
        .user_id_by_email(&email)?
        .with_context(|| format!("no account has the e-mail address {}", email.as_str()))
}

fn add_user(database: &DatabaseLocation, email: &str, name: &str) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(name)?;
    let typed = read_new_password()?;
    let password = NewPassword::parse(&typed, &[email.as_str(), name.as_str()])?;
    let hash = password::hash_now(password.expose()).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let store = open(database)?;
    let id = store.create_user(&email, &name, &hash, OffsetDateTime::now_utc())?;
    println!("created account {id} for {}", email.as_str());
    Ok(ExitCode::SUCCESS)
}

/// The new account's password: typed twice without echo at a terminal, or one
/// line from standard input when it is a pipe or a file.
fn read_new_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password("Password (12 to 128 characters, not shown): ")
            .context("cannot read the password")?;
        let again =
            rpassword::prompt_password("The same password again: ").context("cannot read the password")?;
        if typed != again {
            bail!("the two passwords differ; nothing was created");
        }
        return Ok(typed);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password")?;
    let typed = line.strip_suffix('\n').unwrap_or(&line);
    Ok(typed.strip_suffix('\r').unwrap_or(typed).to_owned())
}

/// An origin as a browser sends it in `Origin`: `https://host[:port]`, lower-case,
/// with no path.
fn parse_public_origin(typed: &str) -> Result<String, String> {
    let origin = typed.trim().trim_end_matches('/').to_ascii_lowercase();
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("an origin starts with https:// (or http://)")?;
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err("an origin is a scheme and a host, like https://shop.example".to_owned());
    }
    Ok(origin)
}

/// `2027-01-31` means usable through that whole day (UTC).
fn end_of_day(date: &str) -> anyhow::Result<OffsetDateTime> {
    Ok(LastDay::parse(date)?.ends_at())
}

fn grant_credit(
    database: &DatabaseLocation,
    email: &str,
    amount: &str,
    categories: Option<&str>,
    expires: Option<&str>,
    note: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let amount = Money::parse(amount).map_err(|error| anyhow::anyhow!("--amount: {error}"))?;
    let reason = AdjustmentReason::parse(reason).map_err(|error| anyhow::anyhow!("--reason: {error}"))?;
    if amount.is_zero() {
        bail!("a credit must be worth more than $0.00");
    }
    let now = Clock::system().now();
    let expires_at = expires.map(end_of_day).transpose()?;
    if expires_at.is_some_and(|expiry| expiry <= now) {
        bail!("that expiry date has already passed");
    }
    let store = open_existing(database)?;
    let kind = match categories {
        Some(list) => CreditKind::Promotional(categories_named(&store, list)?),
        None => CreditKind::GiftCard,
    };
    let user = account(&store, email)?;
    let credit = NewCredit {
        kind,
        source: CreditSource::Grant,
        description: note.trim().to_owned(),
        amount,
        expires_at,
        code_redemption_id: None,
    };
    let until = expires_at.map_or_else(String::new, |at| {
        format!(", usable until {}", format_last_day(at))
    });
    match store.ask_grant(
        &Actor::command(),
        GrantAuthority::Full,
        user,
        &credit,
        &reason,
        now,
    )? {
        GrantOutcome::Granted(id) => println!("granted credit {} of {amount} to {email}{until}", id.0),
        GrantOutcome::AwaitingApproval { request, threshold } => println!(
            "credit of {amount} to {email}{until} {}",
            approvals::waits_for_approval(request, threshold)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn show_balance(database: &DatabaseLocation, email: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let user = account(&store, email)?;
    let balances = store.balances_for(user, Clock::system().now())?;
    print_balances(&balances, "");
    Ok(ExitCode::SUCCESS)
}

/// The balances as `balance` prints them, each line after `indent`.
fn print_balances(balances: &crate::domain::Balances, indent: &str) {
    for line in balances.lines() {
        println!("{indent}{:<14} {:>12}", line.label, line.amount.to_string());
    }
}

fn verify_ledger(database: &DatabaseLocation) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let mismatches = store.verify_ledger()?;
    if mismatches.is_empty() {
        println!("ledger ok: every credit adds up");
        return Ok(ExitCode::SUCCESS);
    }
    for m in &mismatches {
        eprintln!(
            "credit {} (account {}): original {} but grants {}; remaining {} but ledger sums to {}",
            m.credit_id.0, m.user_id, m.original, m.granted, m.remaining, m.ledger_sum
        );
    }
    eprintln!("ledger broken: {} credit(s) do not add up", mismatches.len());
    Ok(ExitCode::FAILURE)
}

#[derive(Debug, Args)]
struct NewCodeArgs {
    /// The code itself, e.g. SPRING-15 (matched case-insensitively).
    #[arg(long)]
    code: String,
    /// What redeeming it gives.
    #[arg(long, value_enum)]
    kind: CodeKind,
    /// Dollars granted (credit, gift card) or taken off (fixed discount).
    #[arg(long, conflicts_with = "percent")]
    amount: Option<String>,
    /// Percent off (discount codes only).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    percent: Option<u8>,
    /// Categories for credit and discount codes, e.g. music,kindle (see `category
    /// list`); a credit code needs them, a discount code without them is valid in
    /// every category the store has when it is created.
    #[arg(long)]
    categories: Option<String>,
    /// Days a redeemed credit stays valid (none: no expiry).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    valid_days: Option<u32>,
    /// Last day the code can be redeemed (YYYY-MM-DD, UTC).
    #[arg(long)]
    redeem_by: Option<String>,
    /// How many accounts may redeem it in all. Without it a gift card code can be
    /// redeemed once (by one account), credit and discount codes by every account.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_redemptions: Option<u32>,
    /// What shoppers see, e.g. "$15.00 credit for Kindle".
    #[arg(long)]
    description: String,
}

/// A non-empty set of the store's categories from `music,kindle`.
fn categories_named(store: &Store, list: &str) -> anyhow::Result<CategorySet> {
    let categories = store.categories();
    let set = categories.parse_list(list)?;
    if set.is_empty() {
        bail!(
            "name at least one category: {}",
            categories.slugs(categories.every())
        );
    }
    Ok(set)
}

fn create_code(database: &DatabaseLocation, args: NewCodeArgs) -> anyhow::Result<ExitCode> {
    let store = open(database)?;
    let now = Clock::system().now();
    let numbers = (
        args.percent.map(|percent| percent.to_string()),
        args.valid_days.map(|days| days.to_string()),
        args.max_redemptions.map(|cap| cap.to_string()),
    );
    let typed = TypedCode {
        code: &args.code,
        kind: match args.kind {
            CodeKind::Credit => "credit",
            CodeKind::GiftCard => "gift_card",
            CodeKind::Discount => "discount",
        },
        amount: args.amount.as_deref(),
        percent: numbers.0.as_deref(),
        categories: args.categories.as_deref(),
        valid_days: numbers.1.as_deref(),
        redeem_by: args.redeem_by.as_deref(),
        max_redemptions: numbers.2.as_deref(),
        description: &args.description,
    };
    let new = NewCode::read(&typed, &store.categories(), now)
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", problem.field.flag()))?;
    let id = store.create_code(&Actor::command(), &new, now)?;
    let reach = match new.max_redemptions {
        Some(1) => "redeemable once in all".to_owned(),
        Some(cap) => format!("redeemable by {cap} accounts in all"),
        None => "redeemable once by every account".to_owned(),
    };
    let gives = match new.grant {
        CodeGrant::Credit { amount, .. } => format!("{amount} of credit"),
        CodeGrant::GiftCard { amount } => format!("a {amount} gift card"),
        CodeGrant::Discount(DiscountTerms {
            value: DiscountValue::Percent(percent),
            ..
        }) => format!("{percent}% off"),
        CodeGrant::Discount(DiscountTerms {
            value: DiscountValue::AmountOff(amount),
            ..
        }) => format!("{amount} off"),
    };
    println!("created code {} (id {id}): {gives}, {reach}", new.code.as_str());
    Ok(ExitCode::SUCCESS)
}

fn refund_order(
    database: &DatabaseLocation,
    id: i64,
    reason: &str,
    amount: Option<&str>,
    revoked_to: Option<RevokedTo>,
) -> anyhow::Result<ExitCode> {
    let reason = AdjustmentReason::parse(reason).map_err(|error| anyhow::anyhow!("--reason: {error}"))?;
    let amount = amount
        .map(|typed| Money::parse(typed).map_err(|error| anyhow::anyhow!("--amount: {error}")))
        .transpose()?;
    if amount.is_some_and(Money::is_zero) {
        bail!("--amount must be more than $0.00");
    }
    let request = RefundRequest {
        amount,
        reason,
        revoked_share_to: revoked_to.map(|to| match to {
            RevokedTo::Credit => RevokedShareTo::NewCredit,
            RevokedTo::Card => RevokedShareTo::Card,
        }),
    };
    let store = open_existing(database)?;
    let refunded = store.refund_order(&Actor::command(), id, &request, Clock::system().now())?;
    let email = store
        .order_details(id)?
        .map(|order| order.email)
        .unwrap_or_default();
    println!(
        "refunded {} of order {id}: {}",
        refunded.amount,
        where_a_refund_went(&refunded, &email, &store.categories())
    );
    if refunded.fully_refunded() {
        println!("order {id} is now refunded in full");
    } else {
        println!("{} of order {id} is left to refund", refunded.left);
    }
    Ok(ExitCode::SUCCESS)
}

/// "$4.99 refunded to Visa ending in 4242; $0.99 returned to credit 3; $19.99
/// returned as a new credit for Digital Music, valid until March 3, 2031": only
/// what was returned, each part where it went, in the order it went back.
fn where_a_refund_went(refunded: &Refunded, email: &str, categories: &Categories) -> String {
    let mut parts = Vec::new();
    if !refunded.card_refunded.is_zero() {
        let card = refunded.card_label.as_deref().unwrap_or("the card");
        parts.push(format!("{} refunded to {card}", refunded.card_refunded));
    }
    for share in &refunded.returned_to {
        parts.push(format!(
            "{} returned to credit {} (the credit it was paid from)",
            share.amount, share.credit.0
        ));
    }
    for credit in &refunded.new_credits {
        let what = match credit.kind {
            CreditKind::GiftCard => "a new gift card credit".to_owned(),
            CreditKind::Promotional(valid) => format!("a new credit for {}", categories.describe(valid)),
        };
        let valid = match credit.expires_at {
            Some(ends_at) => format!("valid until {}", format_last_day(ends_at)),
            None => "valid with no end".to_owned(),
        };
        let why = match credit.why {
            NewCreditWhy::Expired => "the credit it was paid from has expired",
            NewCreditWhy::NoRoom => "the credit it was paid from was raised since and has no room for it",
            NewCreditWhy::Revoked => "the credit it was paid from has been revoked since",
        };
        parts.push(format!(
            "{} returned as {what}, {valid} (credit {}; {why})",
            credit.amount, credit.id.0
        ));
    }
    for share in &refunded.withheld {
        let kind = match share.kind {
            CreditKind::GiftCard => "--gift-card".to_owned(),
            CreditKind::Promotional(valid) => format!("--categories {}", categories.slugs(valid)),
        };
        parts.push(format!(
            "{amount} withheld: it was paid from credit {credit}, which has been revoked since, so nothing \
             was put back on it (to give it back all the same: storecredit credit grant --email {email} \
             --amount {cents} {kind} --reason \"…\"; a refund with --revoked-to credit or --revoked-to card \
             sends such a share there instead)",
            amount = share.amount,
            credit = share.credit.0,
            cents = share.amount.as_decimal(),
        ));
    }
    if let Some(discount) = &refunded.discount_restored {
        parts.push(format!("the discount \"{discount}\" is usable again"));
    }
    if parts.is_empty() {
        "nothing had been paid".to_owned()
    } else {
        parts.join("; ")
    }
}

fn backup(database: &DatabaseLocation, target: &std::path::Path) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    // `backup backups/today.db` on a first run: the folder is made, as a
    // newcomer expects (a store on PostgreSQL is refused below, making nothing).
    if let (DatabaseLocation::File(_), Some(folder)) = (database, target.parent())
        && !folder.as_os_str().is_empty()
        && !folder.exists()
    {
        std::fs::create_dir_all(folder).with_context(|| {
            format!(
                "cannot make the folder {}",
                crate::listing::for_people(&folder.display().to_string())
            )
        })?;
    }
    store.backup_to(target)?;
    println!("backed up {database} to {}", target.display());
    Ok(ExitCode::SUCCESS)
}
