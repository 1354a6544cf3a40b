//! `register USER`: the device-registration link as a terminal QR code.

use std::process::ExitCode;
use std::time::Duration;

use crate::AppArgs;
use crate::failure::Failure;

/// Adds the user if needed and prints the registration link and its QR code.
pub async fn run(app: &AppArgs, user: &str, wait: bool) -> Result<ExitCode, Failure> {
    let client = app.client()?;
    client.add_user(user).await?;
    if client.has_registered_mobile_device(user).await? {
        println!("{user} already has a registered phone. (Lost it? The service can issue a new link.)");
        return Ok(ExitCode::SUCCESS);
    }
    let link = client.device_registration_link(user, Some(user)).await?;
    println!("Scan this code with the phone (or open the link on it) to register it for {user}:\n");
    print!("{}", deviceauth::qr::terminal(&link)?);
    println!("\n  {link}\n");
    if wait {
        println!("Waiting for the phone...");
        while !client.has_registered_mobile_device(user).await? {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        println!("Phone registered for {user}.");
    }
    Ok(ExitCode::SUCCESS)
}
