//! `deviceauth-emulator`: runs the emulator until Ctrl-C or SIGTERM (see [`deviceauth_emulator::cli::run`]).

fn main() -> std::process::ExitCode {
    let code = deviceauth_emulator::cli::run(std::env::args_os().collect());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
