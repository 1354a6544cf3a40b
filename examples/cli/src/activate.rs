//! `activate` and `projects`: Project Insight device activation and a call with the token.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use deviceauth::projectinsight::{Client, DeviceInfo};

use crate::failure::Failure;
use crate::token_store::{self, StoredToken};

/// The client agent this program declares; completion must repeat it.
const AGENT: &str = concat!("deviceauth-cli/", env!("CARGO_PKG_VERSION"));

/// Runs the activation: URL and QR code, the code prompt, the token file.
pub async fn run(base_url: &str, token_file: PathBuf, timeout_minutes: Option<u32>) -> Result<ExitCode, Failure> {
    let client = Client::new(base_url)?;
    let info = DeviceInfo::new(AGENT).platform(std::env::consts::OS).device("Computer");
    let pending = client.create_device_activation(&info).await?;
    println!("To activate this device, open this page (or scan the code) and sign in:\n");
    println!("  {}\n", pending.url);
    print!("{}", deviceauth::qr::terminal(&pending.url)?);
    println!("\nThe request expires at {} UTC.", pending.expires_at.format("%Y-%m-%d %H:%M"));
    let code = prompt("Activation code: ")?;
    let done = client.complete_device_activation(&pending.id, &code, AGENT, timeout_minutes).await?;
    token_store::save(
        &token_file,
        &StoredToken {
            base_url: base_url.to_owned(),
            api_token: done.api_token,
            device_id: done.device_id.clone(),
            user_id: done.user_id.clone(),
            expires_at: done.expires_at,
        },
    )?;
    println!(
        "Activated device {} for user {} until {} UTC.\nThe API token is saved in {} (readable only by you).",
        done.device_id,
        done.user_id,
        done.expires_at.format("%Y-%m-%d %H:%M"),
        token_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Lists active projects with the stored token.
pub async fn projects(token_file: PathBuf) -> Result<ExitCode, Failure> {
    let stored = token_store::load(&token_file)?;
    let api = Client::new(&stored.base_url)?.with_api_token(stored.api_token);
    let projects = api.get("project/active").await?;
    let projects =
        projects.as_array().ok_or_else(|| Failure::Local("the service did not answer with a list".into()))?;
    if projects.is_empty() {
        println!("No active projects.");
    }
    for project in projects {
        let name = project.get("Name").and_then(|n| n.as_str()).unwrap_or("(unnamed)");
        let id = project.get("Id").map(|i| i.to_string()).unwrap_or_default();
        println!("{name}  {}", id.trim_matches('"'));
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a question on the terminal and reads one line.
fn prompt(question: &str) -> Result<String, Failure> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer)? == 0 {
        return Err(Failure::Local("no code was typed (standard input ended)".into()));
    }
    Ok(answer)
}
