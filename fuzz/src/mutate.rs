//! Input generation: a seed, mutated a few times (bit flips, insertions of bytes and of
//! tokens that parsers trip on, deletions, duplications, splices with another seed).

use rand::{Rng, RngExt};

/// Fragments that often break parsers of JSON, dates, headers and URLs.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b"false",
    b"-1",
    b"1e999",
    b"0.0000001",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\xff\xfe",
    b"\xc3\xa9\xe5\xb1\xb1",
    b"%",
    b"%2F",
    b"%zz",
    b"/",
    b"?",
    b"#",
    b"+",
    b" ",
    b"\n",
    b"\r\n",
    b"..",
    b"hmac ",
    b"das1.",
    b"T",
    b"Z",
    b"+01:00",
    b"GMT",
    b"9999-12-31T23:59:59",
];

/// One input for a target with `seeds`.
pub fn input(rng: &mut impl Rng, seeds: &[&[u8]]) -> Vec<u8> {
    let mut data = seeds[rng.random_range(0..seeds.len())].to_vec();
    for _ in 0..rng.random_range(1..=4) {
        mutate(rng, &mut data, seeds);
    }
    data
}

fn mutate(rng: &mut impl Rng, data: &mut Vec<u8>, seeds: &[&[u8]]) {
    match rng.random_range(0..6) {
        0 if !data.is_empty() => {
            let i = index(rng, data.len());
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let i = gap(rng, data.len());
            data.insert(i, rng.random());
        }
        2 => {
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            let i = gap(rng, data.len());
            data.splice(i..i, token.iter().copied());
        }
        3 if !data.is_empty() => {
            let start = index(rng, data.len());
            let end = (start + rng.random_range(1..=8)).min(data.len());
            data.drain(start..end);
        }
        4 if !data.is_empty() => {
            let start = index(rng, data.len());
            let end = (start + rng.random_range(1..=16)).min(data.len());
            let copy = data[start..end].to_vec();
            let i = index(rng, data.len());
            data.splice(i..i, copy);
        }
        _ => {
            let other = seeds[rng.random_range(0..seeds.len())];
            let cut = index(rng, data.len());
            data.truncate(cut);
            data.extend_from_slice(&other[index(rng, other.len())..]);
        }
    }
}

/// A position of an existing byte (0 when there is none).
fn index(rng: &mut impl Rng, len: usize) -> usize {
    if len == 0 { 0 } else { rng.random_range(0..len) }
}

/// A position to insert at, `0..=len`.
fn gap(rng: &mut impl Rng, len: usize) -> usize {
    rng.random_range(0..=len)
}
