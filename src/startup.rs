//! Application::build: opens the store, seeds the demo, binds and wires the server.

use std::net::{SocketAddr, TcpListener};

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::error::{PathError, QueryPayloadError, UrlencodedError};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::auth::client_address::TrustedProxy;
use crate::auth::csrf::{self, PublicOrigin, VisitorTokens};
use crate::auth::device::DeviceCookies;
use crate::auth::download_links::DownloadLinks;
use crate::auth::password::{self, Passwords};
use crate::auth::session_store::ServerSessions;
use crate::auth::throttle::Throttle;
use crate::config::Settings;
use crate::error::AppError;
use crate::mail::Mailer;
use crate::media::MediaDir;
use crate::media::demo::{DemoFilesWritten, DemoProduct, NamedDemoFile};
use crate::routes::headers::{common_headers, page_headers};
use crate::routes::password_reset::LinkOrigin;
use crate::routes::{self, SiteOptions};
use crate::store::Store;
use crate::store::demo::DEMO_PASSWORD;
use crate::telemetry::{AccessLog, Metrics};

/// Largest form body accepted; anything bigger is a 413 before it is parsed.
pub const FORM_LIMIT_BYTES: usize = 16 * 1024;

/// How often what has expired (sessions, throttle counters, reset links) is swept
/// from the database.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How soon a department added by an operator command shows on a running server.
const REREAD_CATEGORIES_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Application {
    port: u16,
    url: String,
    server: Server,
    /// The metrics server on `--metrics-bind`, and the address it listens on.
    metrics: Option<(SocketAddr, Server)>,
}

impl Application {
    /// Opens the store `settings` name, then as [`Application::build_with_store`].
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let database = settings.database.clone();
        let store = web::block(move || Store::open_location(&database))
            .await?
            .with_context(|| format!("cannot open the database {}", settings.database))?;
        Application::build_with_store(settings, store).await
    }

    /// Seeds the demo when asked, binds and wires the server on a store the caller
    /// opened (tests open one with a test knob turned).
    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Application> {
        let passwords = web::block(Passwords::new)
            .await?
            .map_err(|e| anyhow::anyhow!("cannot prepare password hashing: {e}"))?;
        if settings.seed_demo {
            let (seed_store, now) = (store.clone(), settings.clock.now());
            let seeded = web::block(move || -> anyhow::Result<bool> {
                let hash = password::hash_now(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(seed_store.seed_demo_if_empty(&hash, now)?)
            })
            .await??;
            if seeded {
                tracing::info!("seeded the demo catalog, account and codes");
            }
        }
        let media = MediaDir::new(settings.media_dir.clone());
        let (demo_store, demo_media) = (store.clone(), media.clone());
        let demo_files = web::block(move || write_missing_demo_files(&demo_store, &demo_media))
            .await?
            .with_context(|| {
                format!(
                    "cannot write the demo files into the media folder {}",
                    settings.media_dir.display()
                )
            })?;
        if demo_files.written > 0 {
            tracing::info!(written = demo_files.written, "wrote the missing demo files");
        }
        let key_store = store.clone();
        let cookie_key = web::block(move || key_store.session_cookie_key()).await??;

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let address = listener.local_addr()?;
        let secure = settings.cookie_security.is_secure_for(address);
        let url = format!("http://{address}");
        let mailer = web::Data::new(Mailer::new(&settings.mail)?);
        let link_origin = web::Data::new(LinkOrigin(
            settings.public_origin.clone().unwrap_or_else(|| url.clone()),
        ));

        let metrics = match settings.metrics_bind {
            Some(_) => Metrics::on()?,
            None => Metrics::off(),
        };
        let metrics_server = match &settings.metrics_bind {
            Some(address) => metrics.serve(address, store.clone())?,
            None => None,
        };

        let (origin_store, origin, now) = (store.clone(), link_origin.0.clone(), settings.clock.now());
        web::block(move || origin_store.set_site_origin(&origin, now)).await??;
        // Queuing reminders is not sending: a server that only queues sweeps too.
        crate::mail::sender::spawn_reminder_sweep(store.clone(), settings.clock.clone());
        if settings.mail.send {
            crate::mail::sender::spawn(
                store.clone(),
                mailer.get_ref().clone(),
                settings.clock.clone(),
                metrics.clone(),
            );
        }
        spawn_purger(store.clone(), settings.clone());
        spawn_category_reader(store.clone());

        let session_store =
            ServerSessions::new(store.clone(), settings.session_lifetime, settings.clock.clone());
        let cookie_key = Key::from(&cookie_key);
        let idle = settings.session_lifetime.idle;
        let store = web::Data::new(store);
        let passwords = web::Data::new(passwords);
        let clock = web::Data::new(settings.clock.clone());
        let site = web::Data::new(SiteOptions {
            demo: settings.seed_demo,
        });
        let trusted_proxy = web::Data::new(TrustedProxy(settings.trusted_proxy));
        let throttle = web::Data::new(Throttle::new(
            store.get_ref().clone(),
            settings.throttle,
            settings.clock.clone(),
            metrics.clone(),
        ));
        // The cookie key's signing half is otherwise unused: session cookies are
        // encrypted with its other half.
        let visitor_tokens = web::Data::new(VisitorTokens::new(cookie_key.clone(), secure));
        let device_cookies = web::Data::new(DeviceCookies::new(&cookie_key, secure));
        let download_links = web::Data::new(DownloadLinks::new(&cookie_key));
        let public_origin = web::Data::new(PublicOrigin(settings.public_origin.clone()));
        let console_cookie = web::Data::new(routes::admin::ConsoleCookie::new(secure));
        let media = web::Data::new(media);
        let upload_limit = web::Data::new(routes::admin::catalog::UploadLimit(settings.upload_limit_bytes));
        let console_notes = web::Data::new(routes::admin::console_page::ConsoleNotes::new(
            cookie_key.clone(),
            secure,
        ));

        let common = common_headers(secure);
        let access_log_metrics = metrics.clone();
        let metrics = web::Data::new(metrics);

        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(session_store.clone(), cookie_key.clone())
                .cookie_name(
                    if secure {
                        "__Host-storecredit"
                    } else {
                        "storecredit"
                    }
                    .to_owned(),
                )
                .cookie_secure(secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_path("/".to_owned())
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default().state_ttl(idle))
                .build();
            App::new()
                .app_data(store.clone())
                .app_data(passwords.clone())
                .app_data(clock.clone())
                .app_data(site.clone())
                .app_data(trusted_proxy.clone())
                .app_data(throttle.clone())
                .app_data(visitor_tokens.clone())
                .app_data(device_cookies.clone())
                .app_data(download_links.clone())
                .app_data(public_origin.clone())
                .app_data(console_cookie.clone())
                .app_data(console_notes.clone())
                .app_data(mailer.clone())
                .app_data(link_origin.clone())
                .app_data(metrics.clone())
                .app_data(media.clone())
                .app_data(upload_limit.clone())
                .app_data(web::Data::new(common.clone()))
                .app_data(form_config())
                .app_data(
                    web::QueryConfig::default().error_handler(|_: QueryPayloadError, _| {
                        AppError::BadRequest(
                            "The address has a part we could not read. Check the link, or go back and try again."
                                .into(),
                        )
                        .into()
                    }),
                )
                .app_data(
                    web::PathConfig::default().error_handler(|_: PathError, _| AppError::NotFound.into()),
                )
                // The stylesheet, script and icon need none of the pages' middleware: routed
                // first, they skip it all (see `assets::configure`).
                .configure(|config| routes::assets::configure(config, common.clone()))
                .service(
                    web::scope("")
                        .wrap(from_fn(routes::admin::session::load_console_session))
                        .wrap(from_fn(csrf::reject_cross_site_posts))
                        .wrap(routes::error_pages::ErrorPages)
                        .wrap(sessions)
                        .wrap(from_fn(routes::error_pages::answer_503_when_sessions_are_unreachable))
                        .wrap(page_headers(&common))
                        .wrap(AccessLog::with_metrics(access_log_metrics.clone()))
                        .configure(routes::configure)
                        .default_service(web::to(routes::not_found)),
                )
        })
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port: address.port(),
            url,
            server: server.run(),
            metrics: metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port metrics are served on, when `--metrics-bind` asked for them.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(address, _)| address.port())
    }

    /// The address metrics are served on, when `--metrics-bind` asked for them.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    /// Serves until the site's server stops (on a signal), then stops the
    /// metrics server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let site = async {
            let stopped = self.server.await;
            metrics_handle.stop(true).await;
            stopped
        };
        let (stopped, _) = tokio::join!(site, metrics);
        stopped
    }
}

/// Makes the media folder when missing and writes the demo file of every
/// product that names one (`demo/…`) and lacks it; one that is there (perhaps
/// written by another server sharing the folder) is left alone.
fn write_missing_demo_files(store: &Store, media: &MediaDir) -> anyhow::Result<DemoFilesWritten> {
    let files = store.demo_product_files()?;
    let named: Vec<NamedDemoFile<'_>> = files
        .iter()
        .map(|file| NamedDemoFile {
            product: DemoProduct::from(&file.product),
            media_file: &file.media_file,
        })
        .collect();
    Ok(crate::media::demo::write_missing(media, &named)?)
}

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(FORM_LIMIT_BYTES)
        .error_handler(|error, _| match error {
            UrlencodedError::Overflow { .. } => AppError::PayloadTooLarge.into(),
            other => AppError::BadRequest(format!("The form could not be read: {other}")).into(),
        })
}

/// Reads the categories again every [`REREAD_CATEGORIES_EVERY`], so a department
/// an operator adds shows on the pages without a restart.
fn spawn_category_reader(store: Store) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(REREAD_CATEGORIES_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let store = store.clone();
            match web::block(move || store.reread_categories()).await {
                Ok(Ok(true)) => tracing::info!("the categories changed; pages show them now"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = ?e, "could not read the categories"),
                Err(e) => tracing::warn!(error = ?e, "the categories were not read"),
            }
        }
    });
}

/// Sweeps, every [`PURGE_EVERY`], the sessions that have ended, the throttle
/// counters whose window is over and expired reset links, so storage grows with
/// sign-ins, not with time.
fn spawn_purger(store: Store, settings: Settings) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            let (store, lifetime, now) = (store.clone(), settings.session_lifetime, settings.clock.now());
            let purged = web::block(move || -> Result<[usize; 4], crate::store::StoreError> {
                Ok([
                    store.purge_expired_sessions(lifetime, now)?,
                    store.purge_throttle_counters(now)?,
                    store.purge_password_resets(now)? + store.purge_console_sessions(now)?,
                    store.purge_pending_registrations(now)?,
                ])
            })
            .await;
            match purged {
                Ok(Ok([0, 0, 0, 0])) => {}
                Ok(Ok([sessions, counters, reset_links, registrations])) => {
                    tracing::info!(
                        sessions,
                        counters,
                        reset_links,
                        registrations,
                        "purged what has expired"
                    )
                }
                Ok(Err(e)) => tracing::warn!(error = ?e, "could not purge"),
                Err(e) => tracing::warn!(error = ?e, "the purge did not run"),
            }
        }
    });
}
