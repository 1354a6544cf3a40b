//! The fuzz targets: every response parser, the timestamp parsers, URL building from
//! hostile user ids, sealed sessions, and the emulator's Authentication header parser.

use deviceauth::fuzzing;
use deviceauth_emulator::checks::{parse_authentication_header, verify_signature};

/// A target: its seeds and what to run on one input (`Err` is a broken property).
pub struct Target {
    pub name: &'static str,
    pub seeds: &'static [&'static [u8]],
    pub run: fn(&[u8]) -> Result<(), String>,
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "activeconnect-replies",
            seeds: &[
                br#"{"authentication_status":{"authenticated":true,"session_status":"pending","status_url":"https://h/s","logout_url":"https://h/l","session_token":"t","session_secret":"s"}}"#,
                br#"{"authenticated":false,"session_status":"walkaway"}"#,
                br#"{"status":true,"users":{"created":["a"],"existing":[]}}"#,
                br#"{"status":false,"reason":"NO"}"#,
                br#"{"status":true,"register_url":"https://h/r","device_registered":true}"#,
            ],
            run: |input| {
                fuzzing::activeconnect_replies(input);
                Ok(())
            },
        },
        Target {
            name: "projectinsight-replies",
            seeds: &[
                br#"{"DeviceActivationId":"1","DeviceActivationRequestUrl":"https://h/a","ExpirationDateTimeUTC":"2026-11-22T13:15:00.1234567Z"}"#,
                br#"{"ApiToken":"t","DeviceId":7,"UserId":"u","ApiTokenExpirationDateTimeUTC":"2027-01-01T00:00:00"}"#,
                br#"{"ErrorCode":"WRONG_CODE","Message":"The activation code is not correct."}"#,
            ],
            run: |input| {
                fuzzing::projectinsight_replies(input);
                Ok(())
            },
        },
        Target {
            name: "timestamps",
            seeds: &[b"2026-11-22T13:15:00.1234567Z", b"Wed, 21 Oct 2015 07:28:00 GMT", b"120", b"2026-11-22T14:15:00+01:00"],
            run: |input| {
                fuzzing::timestamps(&text(input));
                Ok(())
            },
        },
        Target {
            name: "user-urls",
            seeds: &[b"alice", b"a/b?c#d%e+f g", b"Zo\xc3\xab \xe5\xb1\xb1\xe7\x94\xb0", b"..", b"%2F", b"/leading"],
            run: |input| fuzzing::user_url(&text(input)),
        },
        Target {
            name: "sealed-sessions",
            seeds: &[b"das1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b"das1.", b"x"],
            run: |input| fuzzing::unseal(&text(input)),
        },
        Target {
            name: "session-json",
            seeds: &[
                br#"{"user":"u","session_token":"t","session_secret":"hunter2-secret","status_url":"http://127.0.0.1/s","logout_url":"http://127.0.0.1/l","status":"active"}"#,
                br#"{"user":"u","session_token":5}"#,
            ],
            run: |input| fuzzing::session_json(&text(input)),
        },
        Target {
            name: "quoted-text",
            seeds: &[b"echo hunter2-secret \x1b[31m\r\n", b"HUNTER2-SECRET hunter2%2Dsecret", b"\xe2\x80\xae rtl"],
            run: |input| fuzzing::quoted_text(&text(input)),
        },
        Target {
            name: "emulator-auth-header",
            seeds: &[b"hmac ABCD:9223372036854775807:P7/K50V7bn2CVNBe/dKGFQ==", b"hmac a:b:c:1:x", b"HMAC id:1:sig"],
            run: |input| {
                let header = text(input);
                let parsed = parse_authentication_header(&header);
                let verified = verify_signature(&header, "s3cret", "h/p", "1234567890");
                if verified && parsed.is_none() {
                    return Err("verified a header it cannot parse".into());
                }
                Ok(())
            },
        },
    ]
}
