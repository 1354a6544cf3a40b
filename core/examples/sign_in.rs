//! Passwordless sign-in from start to finish, against the emulator or the real service.
//!
//! ```text
//! cargo run -p deviceauth-emulator            # in one terminal: prints the app id and secret
//! DEVICEAUTH_APP_ID=... DEVICEAUTH_APP_SECRET=... \
//!   cargo run -p deviceauth --example sign_in -- alice http://127.0.0.1:8790
//! ```
//!
//! Registers `alice`, prints her device-registration link (open it: in the emulator it is
//! the phone page), waits until a phone is registered, pushes a sign-in, waits for the
//! answer, then follows the session (walkaway, remote logout) until it ends or Ctrl-C.

use std::time::Duration;

use deviceauth::activeconnect::{AuthenticateOptions, Client, WaitOptions};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let user = args.next().unwrap_or_else(|| "alice".to_owned());
    let mut builder = Client::builder(env("DEVICEAUTH_APP_ID")?, env("DEVICEAUTH_APP_SECRET")?);
    if let Some(base_url) = args.next() {
        builder = builder.base_url(base_url);
    }
    let client = builder.build()?;

    client.add_user(&user).await?;
    if !client.has_registered_mobile_device(&user).await? {
        let link = client.device_registration_link(&user, Some(&user)).await?;
        println!("Open this link on {user}'s phone to register it:\n  {link}");
        while !client.has_registered_mobile_device(&user).await? {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        println!("Phone registered.");
    }

    let session = client.authenticate_user(&user, &AuthenticateOptions::default()).await?;
    println!("Sign-in request sent; approve it on the phone.");
    let status =
        session.wait(&WaitOptions { interval: Duration::from_secs(1), deadline: Duration::from_secs(120) }).await?;
    if !status.is_authenticated() {
        println!("Not signed in: the session ended as {status}.");
        return Ok(());
    }
    println!("{user} is signed in ({status}). Watching the session; Ctrl-C logs out.");

    let mut changes = session.watch(Duration::from_secs(2));
    loop {
        tokio::select! {
            change = changes.next() => match change {
                Some(Ok(status)) => println!("status: {status}"),
                Some(Err(error)) => println!("status check failed: {error}"),
                None => break,
            },
            _ = tokio::signal::ctrl_c() => {
                println!("logged out: {}", session.logout().await?);
                break;
            }
        }
    }
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (the emulator prints it when it starts)"))
}
