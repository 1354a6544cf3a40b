//! Project Insight device activation in a terminal: an API token without a password.
//!
//! ```text
//! cargo run -p deviceauth-emulator            # in one terminal
//! cargo run -p deviceauth --example activate -- http://127.0.0.1:8790/api
//! ```
//!
//! Prints the activation URL (in the emulator, a sign-in page that shows the code), reads
//! the code from standard input, and lists the active projects with the new token. The
//! token itself is never printed.

use std::io::{BufRead, Write};

use deviceauth::projectinsight::{Client, DeviceInfo};

const AGENT: &str = concat!("deviceauth-example/", env!("CARGO_PKG_VERSION"));

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:8790/api".to_owned());
    let client = Client::new(&base_url)?;
    let pending = client.create_device_activation(&DeviceInfo::new(AGENT).platform(std::env::consts::OS)).await?;
    println!("Open {} , sign in, and type the code shown there.", pending.url);
    println!("(The request expires at {}.)", pending.expires_at);
    print!("Activation code: ");
    std::io::stdout().flush()?;
    let mut code = String::new();
    std::io::stdin().lock().read_line(&mut code)?;

    let done = client.complete_device_activation(&pending.id, &code, AGENT, None).await?;
    println!("Device {} activated for user {} until {}.", done.device_id, done.user_id, done.expires_at);
    let projects = client.with_api_token(done.api_token).get("project/active").await?;
    for project in projects.as_array().into_iter().flatten() {
        println!("- {}", project["Name"].as_str().unwrap_or("(unnamed)"));
    }
    Ok(())
}
