//! What went wrong, in words for the person at the terminal.

use deviceauth::Error;

/// A failure of a command: a core error with advice, or a local problem.
#[derive(Debug)]
pub enum Failure {
    /// The service or the arguments refused something.
    Service(Error),
    /// A local problem (the terminal, an unexpected answer).
    Local(String),
    /// A missing or malformed setting: exit code 2, as for a bad argument.
    Usage(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Service(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Local(error.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Local(message) | Failure::Usage(message) => f.write_str(message),
            Failure::Service(error) => {
                write!(f, "{error}")?;
                match advice(error) {
                    Some(advice) => write!(f, "\nhint: {advice}"),
                    None => Ok(()),
                }
            }
        }
    }
}

fn advice(error: &Error) -> Option<&'static str> {
    Some(match (error.code(), error.reason()) {
        ("NOT_STARTED", Some("NO_MOBILE_DEVICE")) => {
            "this user has no registered phone yet: run `deviceauth-cli register USER` and open the link on the phone"
        }
        ("EXPIRED", _) => "the stored API token expired: run `deviceauth-cli activate` again for a new one",
        ("STORE", Some("NOT_STORED")) => "run `deviceauth-cli activate` first",
        ("STORE", Some("INSECURE")) => {
            "the token file must be yours, not a link, with mode 0600: `chmod 600` it, or delete it and activate again"
        }
        ("UNAUTHORIZED", Some("WRONG_CODE")) => "type the code exactly as the activation page shows it",
        ("NOT_FOUND", Some(_)) | ("UNAUTHORIZED", Some(_)) => {
            "run `deviceauth-cli activate` again to start a new activation"
        }
        ("UNAUTHORIZED", None) => "check the application id and secret, or activate again if the token expired",
        ("NOT_FOUND", None) => "check the application id, the user id and the base URL",
        ("TRANSPORT", _) => "check the base URL and your network connection",
        ("TIMEOUT", _) => "the service did not answer in time; try again",
        ("STORE", Some("UNREACHABLE")) => "check the store URL and that the store is running",
        ("STORE", Some("UNAUTHORIZED")) => "check the user and password in the store URL",
        ("STORE", Some("SCHEMA_TOO_NEW")) => "a newer deviceauth wrote this store: upgrade deviceauth-cli",
        _ => return None,
    })
}
