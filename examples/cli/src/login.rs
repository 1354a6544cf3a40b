//! `login USER`: a push sign-in with a live status line.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use deviceauth::activeconnect::{AuthenticateOptions, Status};
use futures_util::StreamExt;

use crate::AppArgs;
use crate::failure::Failure;

/// Pushes a sign-in to the phone and shows each status change until the phone answers.
pub async fn run(app: &AppArgs, user: &str, timeout: u64) -> Result<ExitCode, Failure> {
    let client = app.client()?;
    let session = client.authenticate_user(user, &AuthenticateOptions::default()).await?;
    show(&session.status())?;
    let mut changes = session.watch(Duration::from_secs(1));
    let answered = tokio::time::timeout(Duration::from_secs(timeout), async {
        while let Some(change) = changes.next().await {
            match change {
                Ok(status) if status.is_in_progress() => show(&status)?,
                Ok(status) => return Ok(status),
                Err(error) if error.is_transient() => print!("  (retrying: {error})"),
                Err(error) => return Err(Failure::from(error)),
            }
        }
        Ok(session.status())
    })
    .await;
    println!();
    let status = match answered {
        Ok(outcome) => outcome?,
        Err(_) => {
            let _ = session.logout().await;
            return Err(Failure::Local(format!("no answer from the phone within {timeout} s")));
        }
    };
    show(&status)?;
    println!();
    if status.is_authenticated() {
        println!("{user} is signed in.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{user} is not signed in: {}", explain(&status));
        Ok(ExitCode::from(2))
    }
}

fn show(status: &Status) -> std::io::Result<()> {
    print!("\rstatus: {status:<12}");
    std::io::stdout().flush()
}

fn explain(status: &Status) -> &'static str {
    match status {
        Status::Failed => "the sign-in was refused on the phone",
        Status::Cancelled => "the sign-in was cancelled on the phone",
        Status::Timeout => "the phone did not answer in time",
        Status::Closed => "the session was closed",
        _ => "the session ended",
    }
}
