//! The GS1 checks the contracts apply to identifiers (the full GS1 library is
//! in `filiera-types`, which is not `no_std`).

/// Whether `digits` is a 14-digit GTIN with a correct check digit.
pub fn gtin_is_valid(digits: &str) -> bool {
    digits.len() == 14 && check_digit_ok(digits)
}

/// Whether `digits` is a 13-digit GLN with a correct check digit.
pub fn gln_is_valid(digits: &str) -> bool {
    digits.len() == 13 && check_digit_ok(digits)
}

/// Whether `lot` is a GS1 batch/lot number (AI 10): 1..=20 characters of CSET 82.
pub fn lot_is_valid(lot: &str) -> bool {
    !lot.is_empty()
        && lot.len() <= 20
        && lot
            .bytes()
            .all(|b| b"!\"%&'()*+,-./:;<=>?_".contains(&b) || b.is_ascii_alphanumeric())
}

fn check_digit_ok(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (body, check) = bytes.split_at(bytes.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check[0] - b'0')
}
