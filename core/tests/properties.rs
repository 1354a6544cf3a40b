//! Properties over random input: what the core signs, the emulator's independent
//! verifier accepts (and nothing else); parsers never panic; hostile user ids stay one
//! path segment; arbitrary text never opens as a sealed session.

use deviceauth::activeconnect::signing::{signature, signed_uri};
use deviceauth::fuzzing;
use deviceauth_emulator::checks::{parse_authentication_header, verify_signature};
use proptest::prelude::*;

fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn what_is_signed_verifies_and_any_change_does_not(
        client_id in "[A-Za-z0-9_.:-]{1,40}",
        secret in "\\PC{1,48}",
        user in "\\PC{1,40}",
        query in proptest::option::of("[a-z_]{1,8}=\\PC{0,16}"),
        port in proptest::option::of(1u16..),
        nonce in any::<u64>(),
        timestamp in any::<u64>(),
    ) {
        let mut url = url::Url::parse("https://service.example/management/add_users").unwrap();
        url.set_port(port).unwrap();
        url.set_path(&format!("/management/add_users/{}", segment(&user)));
        if let Some(query) = &query {
            url.query_pairs_mut().append_pair(query.split('=').next().unwrap(), query.split_once('=').unwrap().1);
        }
        let uri = signed_uri(&url);
        let header = format!("hmac {client_id}:{nonce}:{}", signature(&secret, nonce, uri, timestamp));
        let ts = timestamp.to_string();
        prop_assert!(verify_signature(&header, &secret, uri, &ts));
        let (id, parsed_nonce, _) = parse_authentication_header(&header).unwrap();
        prop_assert_eq!(id, client_id);
        prop_assert_eq!(parsed_nonce, nonce.to_string());
        let (other_secret, other_uri) = (format!("{secret}x"), format!("{uri}x"));
        prop_assert!(!verify_signature(&header, &other_secret, uri, &ts));
        prop_assert!(!verify_signature(&header, &secret, &other_uri, &ts));
        prop_assert!(!verify_signature(&header, &secret, uri, &timestamp.wrapping_add(1).to_string()));
    }

    #[test]
    fn hostile_user_ids_stay_one_segment(user in "\\PC{0,64}|[./?#%+ ]{1,8}") {
        prop_assert_eq!(fuzzing::user_url(&user), Ok(()));
    }

    #[test]
    fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), text in "\\PC{0,80}") {
        fuzzing::activeconnect_replies(&body);
        fuzzing::projectinsight_replies(&body);
        fuzzing::timestamps(&text);
        prop_assert!(parse_authentication_header(&text).is_none() || text.to_ascii_lowercase().contains("hmac"));
    }

    #[test]
    fn arbitrary_text_never_opens_as_a_sealed_session(text in "\\PC{0,200}", body in "[A-Za-z0-9_-]{0,400}") {
        prop_assert_eq!(fuzzing::unseal(&text), Ok(()));
        prop_assert_eq!(fuzzing::unseal(&format!("das1.{body}")), Ok(()));
    }

    #[test]
    fn stored_sessions_and_quoted_text_never_panic_or_leak(
        text in "\\PC{0,200}",
        json in "\\{(\"(user|session_token|session_secret|status_url|logout_url|status)\":(\"[ -~]{0,20}\"|5|null|\\[\\]),?){0,6}\\}",
    ) {
        prop_assert_eq!(fuzzing::session_json(&text), Ok(()));
        prop_assert_eq!(fuzzing::session_json(&json), Ok(()));
        prop_assert_eq!(fuzzing::quoted_text(&text), Ok(()));
        prop_assert_eq!(fuzzing::quoted_text(&format!("{text} hunter2-SECRET {text}")), Ok(()));
    }
}
