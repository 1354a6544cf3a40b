//! `activate`, `projects` and `logout`: Project Insight device activation into the token
//! store, a call with the stored token, and forgetting it.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use deviceauth::projectinsight::{Client, DeviceInfo};

use crate::TokenArgs;
use crate::failure::Failure;

/// The client agent this program declares; completion must repeat it.
const AGENT: &str = concat!("deviceauth-cli/", env!("CARGO_PKG_VERSION"));

/// Runs the activation: URL and QR code, the code prompt, the stored token.
pub async fn run(args: &TokenArgs, timeout_minutes: Option<u32>) -> Result<ExitCode, Failure> {
    let client = Client::new(&args.base_url)?;
    let store = args.store()?;
    // A store that cannot be used is found before the user is sent to the browser.
    let previous = store.load(client.base_url().as_str(), &args.account)?;
    let pending = match &previous {
        Some(_) => client.reactivate(&store, &args.account).await?,
        None => {
            let info = DeviceInfo::new(AGENT).platform(std::env::consts::OS).device("Computer");
            client.create_device_activation(&info).await?
        }
    };
    println!("To activate this device, open this page (or scan the code) and sign in:\n");
    println!("  {}\n", pending.url);
    print!("{}", deviceauth::qr::terminal(&pending.url)?);
    println!("\nThe request expires at {} UTC.", pending.expires_at.format("%Y-%m-%d %H:%M"));
    let code = prompt("Activation code: ")?;
    let agent = previous.as_ref().map_or(AGENT, |p| p.client_agent.as_str());
    let done = client.complete_and_store(&store, &args.account, &pending.id, &code, agent, timeout_minutes).await?;
    println!(
        "Activated device {} for user {} until {} UTC.\nThe API token is saved in {}{}.",
        done.device_id,
        done.user_id,
        done.expires_at.format("%Y-%m-%d %H:%M"),
        store.location(),
        if previous.is_some() { ", replacing the previous one" } else { " (readable only by you)" },
    );
    Ok(ExitCode::SUCCESS)
}

/// Lists active projects with the stored token; an expired token is refused before sending.
pub async fn projects(args: &TokenArgs) -> Result<ExitCode, Failure> {
    let client = Client::new(&args.base_url)?;
    let api = client.stored_api_client(&args.store()?, &args.account)?;
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

/// Deletes the stored token (nothing stored is not an error).
pub fn logout(args: &TokenArgs) -> Result<ExitCode, Failure> {
    let store = args.store()?;
    if store.delete(&args.base_url, &args.account)? {
        println!("Deleted the API token of {:?} for {} from {}.", args.account, args.base_url, store.location());
    } else {
        println!("No API token of {:?} for {} was stored in {}.", args.account, args.base_url, store.location());
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
