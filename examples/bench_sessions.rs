//! Opens sessions for the benchmark and writes them one per line as
//! `cookie<TAB>csrf_token`, for wrk's Lua scripts to rotate through.
//!
//! `bench_sessions URL signed-in FIRST COUNT OUT` signs in shoppers FIRST.. (each
//! line a distinct account); `bench_sessions URL anonymous 0 COUNT OUT` gives
//! signed-out visitors: the sign-in form's signed CSRF cookie and its token.

use std::io::Write;

use futures::stream::{self, StreamExt};

#[path = "support/load_test.rs"]
mod load_test;

use load_test::{LOAD_TEST_PASSWORD, load_test_email};

fn field(html: &str, name: &str) -> anyhow::Result<String> {
    let start = html
        .find(&format!("name=\"{name}\""))
        .ok_or_else(|| anyhow::anyhow!("no {name} on the page"))?;
    let rest = &html[start..];
    let value = rest.find("value=\"").ok_or_else(|| anyhow::anyhow!("no value"))? + 7;
    Ok(rest[value..value + rest[value..].find('"').unwrap_or(0)].to_owned())
}

fn cookie_of(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .next_back()
        .map(str::to_owned)
}

async fn session(url: &str, shopper: Option<u64>) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client.get(format!("{url}/signin")).send().await?;
    let anonymous = cookie_of(&form).ok_or_else(|| anyhow::anyhow!("no form cookie"))?;
    let token = field(&form.text().await?, "csrf_token")?;
    let Some(n) = shopper else {
        return Ok(format!("{anonymous}\t{token}"));
    };
    let email = load_test_email(n);
    let signed_in = client
        .post(format!("{url}/signin"))
        .header("cookie", &anonymous)
        .form(&[
            ("email", email.as_str()),
            ("password", LOAD_TEST_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        signed_in.status() == 303,
        "sign-in of {email}: {}",
        signed_in.status()
    );
    let cookie = cookie_of(&signed_in).ok_or_else(|| anyhow::anyhow!("no renewed cookie"))?;
    let page = client
        .get(format!("{url}/redeem"))
        .header("cookie", &cookie)
        .send()
        .await?;
    let token = field(&page.text().await?, "csrf_token")?;
    Ok(format!("{cookie}\t{token}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, kind, first, count, out] = args.as_slice() else {
        anyhow::bail!("usage: bench_sessions URL signed-in|anonymous FIRST COUNT OUT");
    };
    let (first, count): (u64, u64) = (first.parse()?, count.parse()?);
    let signed_in = kind == "signed-in";
    let lines: Vec<anyhow::Result<String>> = stream::iter(first..first + count)
        .map(|n| session(url, signed_in.then_some(n)))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    for line in lines {
        writeln!(file, "{}", line?)?;
    }
    Ok(())
}
