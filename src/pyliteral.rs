//! Parser for the Python-literal strings that Flectra's `rest_api` reads with `ast.literal_eval`
//! (`field`, `filters`). It does no I/O and evaluates nothing: it accepts the literal subset of
//! Python (lists, tuples, dicts, strings, numbers, `True`, `False`, `None`) and nothing else.
//!
//! Mapping to JSON: tuples and lists become arrays, `None` becomes `null`, dict keys must be
//! strings or integers (integers become their decimal text). Integers must fit in an `i64`
//! (a bigger one is an error, never a silently rounded float); floats must be finite. Bytes
//! literals (`b'..'`) become text, each byte the code point of the same value.

use serde_json::{Map, Number, Value};

/// Deepest nesting of lists, tuples, dicts and parentheses that [`parse`] accepts.
pub const MAX_DEPTH: usize = 64;

/// Longest input, in bytes, that [`parse`] accepts.
pub const MAX_INPUT: usize = 1 << 20;

/// Why a literal could not be parsed, and at which byte.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses one Python literal into a JSON value (tuples become arrays, None null).
///
/// A bare top-level tuple (`'a', 'b'`) is accepted, as `ast.literal_eval` does.
pub fn parse(input: &str) -> Result<Value, ParseError> {
    if input.len() > MAX_INPUT {
        return Err(ParseError {
            offset: MAX_INPUT,
            message: format!("input longer than {MAX_INPUT} bytes"),
        });
    }
    let mut parser = Parser {
        src: input,
        bytes: input.as_bytes(),
        pos: 0,
        depth: 0,
    };
    parser.skip_whitespace();
    let first = parser.value()?;
    parser.skip_whitespace();
    let value = if parser.peek() == Some(b',') {
        // `1, 2` at the top level is a tuple without parentheses.
        let mut items = vec![first];
        while parser.peek() == Some(b',') {
            parser.pos += 1;
            parser.skip_whitespace();
            if parser.peek().is_none() {
                break;
            }
            items.push(parser.value()?);
            parser.skip_whitespace();
        }
        Value::Array(items)
    } else {
        first
    };
    if parser.peek().is_some() {
        return Err(parser.unexpected("end of input"));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

/// What kind of string literal a prefix asked for.
#[derive(Clone, Copy)]
struct StringKind {
    raw: bool,
    bytes: bool,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            message: message.into(),
        }
    }

    /// "expected X, found Y" at the current position.
    fn unexpected(&self, expected: &str) -> ParseError {
        let found = match self
            .src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            None => "end of input".to_owned(),
            Some(c) if is_operator(c) => {
                format!("{c:?} (operators are not evaluated)")
            }
            Some(c) => format!("{c:?}"),
        };
        self.error_at(self.pos, format!("expected {expected}, found {found}"))
    }

    /// Skips spaces, tabs, newlines, form feeds and `#` comments.
    fn skip_whitespace(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.pos += 1,
                b'\\' if self.peek_at(self.pos + 1) == Some(b'\n') => self.pos += 2,
                b'\\' if self.bytes.get(self.pos + 1..self.pos + 3) == Some(b"\r\n") => {
                    self.pos += 3
                }
                b'#' => {
                    while let Some(byte) = self.peek() {
                        if byte == b'\n' || byte == b'\r' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        let Some(byte) = self.peek() else {
            return Err(self.unexpected("a value"));
        };
        match byte {
            b'[' => {
                self.enter()?;
                self.pos += 1;
                let items = self.items(b']', Vec::new())?;
                self.depth -= 1;
                Ok(Value::Array(items))
            }
            b'(' => self.parenthesized(),
            b'{' => self.dict(),
            b'\'' | b'"' => self.strings(),
            b'0'..=b'9' => self.number(self.pos, false),
            b'.' if matches!(self.peek_at(self.pos + 1), Some(b'0'..=b'9')) => {
                self.number(self.pos, false)
            }
            b'-' | b'+' => self.signed_number(byte == b'-'),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.name_or_prefixed_string(),
            _ => Err(self.unexpected("a value")),
        }
    }

    /// `-1`, `+ 2.5`, `-(3)`: one sign before an unsigned number, perhaps parenthesized.
    fn signed_number(&mut self, negative: bool) -> Result<Value, ParseError> {
        let start = self.pos;
        let depth = self.depth;
        self.pos += 1;
        self.skip_whitespace();
        let mut parens = 0;
        while self.peek() == Some(b'(') {
            self.enter()?;
            parens += 1;
            self.pos += 1;
            self.skip_whitespace();
        }
        let value = match (self.peek(), self.peek_at(self.pos + 1)) {
            (Some(b'0'..=b'9'), _) | (Some(b'.'), Some(b'0'..=b'9')) => {
                // The sign applies to the number itself only when nothing stands between them.
                if parens == 0 {
                    self.number(start, negative)?
                } else {
                    let number_start = self.pos;
                    match self.number(number_start, false)? {
                        Value::Number(number) => negate(number, negative)
                            .ok_or_else(|| self.error_at(start, "integer out of range"))?,
                        other => other,
                    }
                }
            }
            _ => return Err(self.unexpected("a number after the sign")),
        };
        for _ in 0..parens {
            self.skip_whitespace();
            if self.peek() != Some(b')') {
                return Err(self.unexpected("')'"));
            }
            self.pos += 1;
        }
        self.depth = depth;
        Ok(value)
    }

    /// Parses `item, item, ... close` after the opening bracket, appending to `items`.
    fn items(&mut self, close: u8, mut items: Vec<Value>) -> Result<Vec<Value>, ParseError> {
        let expected = if close == b']' {
            "',' or ']'"
        } else {
            "',' or ')'"
        };
        loop {
            self.skip_whitespace();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(byte) if byte == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.unexpected(expected)),
            }
        }
    }

    /// `()`, `(x)` (just x) or a tuple `(x,)`, `(x, y)`.
    fn parenthesized(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        self.pos += 1;
        self.skip_whitespace();
        if self.peek() == Some(b')') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        self.skip_whitespace();
        let value = match self.peek() {
            Some(b')') => {
                self.pos += 1;
                first
            }
            Some(b',') => {
                self.pos += 1;
                Value::Array(self.items(b')', vec![first])?)
            }
            _ => return Err(self.unexpected("',' or ')'")),
        };
        self.depth -= 1;
        Ok(value)
    }

    fn dict(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        self.pos += 1;
        let mut map = Map::new();
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                break;
            }
            let key_start = self.pos;
            let key = match self.value()? {
                Value::String(text) => text,
                Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
                _ => return Err(self.error_at(key_start, "expected a string or integer dict key")),
            };
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                if map.is_empty() && matches!(self.peek(), Some(b',') | Some(b'}')) {
                    return Err(self.error_at(self.pos, "sets are not supported"));
                }
                return Err(self.unexpected("':'"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value()?;
            map.insert(key, value);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    /// A name: `True`, `False`, `None`, or a string prefix (`r'..'`, `u".."`, `b'..'`).
    fn name_or_prefixed_string(&mut self) -> Result<Value, ParseError> {
        if self.string_start(self.pos).is_some() {
            return self.strings();
        }
        let start = self.pos;
        let mut end = start;
        while matches!(
            self.peek_at(end),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')
        ) {
            end += 1;
        }
        let name = &self.src[start..end];
        let value = match name {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            "None" => Value::Null,
            _ => {
                let shown: String = name.chars().take(32).collect();
                return Err(self.error_at(
                    start,
                    format!(
                        "expected a value, found the name `{shown}` \
                         (only True, False and None are allowed)"
                    ),
                ));
            }
        };
        self.pos = end;
        Ok(value)
    }

    /// If a string literal starts at `at`, its prefix length and kind.
    fn string_start(&self, at: usize) -> Option<(usize, StringKind)> {
        let mut kind = StringKind {
            raw: false,
            bytes: false,
        };
        let mut unicode = false;
        let mut len = 0;
        loop {
            match self.peek_at(at + len)? {
                b'\'' | b'"' => return Some((len, kind)),
                b'r' | b'R' if !kind.raw && !unicode => kind.raw = true,
                b'b' | b'B' if !kind.bytes && !unicode => kind.bytes = true,
                b'u' | b'U' if len == 0 => unicode = true,
                _ => return None,
            }
            len += 1;
        }
    }

    /// One string literal or several adjacent ones, concatenated.
    fn strings(&mut self) -> Result<Value, ParseError> {
        let first_start = self.pos;
        let mut text = String::new();
        let mut first_kind: Option<bool> = None;
        while let Some((prefix_len, kind)) = self.string_start(self.pos) {
            let start = self.pos;
            match first_kind {
                None => first_kind = Some(kind.bytes),
                Some(bytes) if bytes != kind.bytes => {
                    return Err(self.error_at(start, "cannot mix bytes and str literals"))
                }
                Some(_) => {}
            }
            self.pos += prefix_len;
            self.string(start, kind, &mut text)?;
            self.skip_whitespace();
        }
        if first_kind.is_none() {
            return Err(self.error_at(first_start, "expected a string"));
        }
        Ok(Value::String(text))
    }

    /// One quoted literal, `self.pos` on its opening quote; appends its text to `out`.
    fn string(
        &mut self,
        start: usize,
        kind: StringKind,
        out: &mut String,
    ) -> Result<(), ParseError> {
        let unterminated = |parser: &Self| parser.error_at(start, "unterminated string");
        let quote = self.bytes[self.pos];
        let triple =
            self.peek_at(self.pos + 1) == Some(quote) && self.peek_at(self.pos + 2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut run_start = self.pos;
        loop {
            let Some(byte) = self.peek() else {
                return Err(unterminated(self));
            };
            match byte {
                b'\\' | b'\n' | b'\r' => {}
                byte if byte == quote => {}
                byte if byte >= 0x80 && kind.bytes => {
                    return Err(
                        self.error_at(self.pos, "bytes literals may only contain ASCII characters")
                    );
                }
                _ => {
                    self.pos += 1;
                    continue;
                }
            }
            // Every special byte is ASCII, so `run_start..pos` lies on char boundaries.
            out.push_str(&self.src[run_start..self.pos]);
            match byte {
                b'\n' | b'\r' if !triple => return Err(unterminated(self)),
                b'\n' | b'\r' => {
                    // Python reads source with universal newlines: \r\n and \r become \n.
                    out.push('\n');
                    self.pos += 1;
                    if byte == b'\r' && self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                b'\\' if kind.raw => {
                    // A raw string keeps the backslash, but an escaped quote does not end it.
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(unterminated(self)),
                        Some(next @ (b'\\' | b'\'' | b'"' | b'\n' | b'\r')) => {
                            out.push('\\');
                            out.push(next as char);
                            self.pos += 1;
                        }
                        Some(_) => out.push('\\'),
                    }
                }
                b'\\' if self.peek_at(self.pos + 1).is_none() => return Err(unterminated(self)),
                b'\\' => self.escape(kind, out)?,
                _ => {
                    // The quote byte.
                    if !triple {
                        self.pos += 1;
                        return Ok(());
                    }
                    if self.peek_at(self.pos + 1) == Some(quote)
                        && self.peek_at(self.pos + 2) == Some(quote)
                    {
                        self.pos += 3;
                        return Ok(());
                    }
                    out.push(quote as char);
                    self.pos += 1;
                }
            }
            run_start = self.pos;
        }
    }

    /// One escape sequence, `self.pos` on its backslash.
    fn escape(&mut self, kind: StringKind, out: &mut String) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        let Some(byte) = self.peek() else {
            return Err(self.unexpected("an escape sequence"));
        };
        self.pos += 1;
        let simple = match byte {
            b'\n' => return Ok(()),
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
                return Ok(());
            }
            b'\\' => Some('\\'),
            b'\'' => Some('\''),
            b'"' => Some('"'),
            b'a' => Some('\x07'),
            b'b' => Some('\x08'),
            b'f' => Some('\x0c'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            return Ok(());
        }
        let code = match byte {
            b'0'..=b'7' => {
                let mut code = u32::from(byte - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(digit @ b'0'..=b'7') => {
                            code = code * 8 + u32::from(digit - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                if kind.bytes && code > 0xff {
                    return Err(self.error_at(start, "octal escape out of range in bytes"));
                }
                code
            }
            b'x' => self.hex_digits(start, 2, "\\x")?,
            b'u' if !kind.bytes => self.hex_digits(start, 4, "\\u")?,
            b'U' if !kind.bytes => self.hex_digits(start, 8, "\\U")?,
            b'N' if !kind.bytes => {
                return Err(self.error_at(start, "\\N{...} escapes are not supported"));
            }
            _ => {
                // Python keeps an unknown escape as it is, backslash included.
                self.pos -= 1;
                out.push('\\');
                return Ok(());
            }
        };
        match char::from_u32(code) {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => Err(self.error_at(
                start,
                "escape is not a Unicode scalar value (surrogate or above U+10FFFF)",
            )),
        }
    }

    fn hex_digits(&mut self, start: usize, count: usize, name: &str) -> Result<u32, ParseError> {
        let mut code: u32 = 0;
        for _ in 0..count {
            let digit = self
                .peek()
                .and_then(|byte| (byte as char).to_digit(16))
                .ok_or_else(|| {
                    self.error_at(start, format!("expected {count} hex digits after {name}"))
                })?;
            code = (code << 4) | digit;
            self.pos += 1;
        }
        Ok(code)
    }

    /// A number starting at `self.pos`; `start` is where its sign (if any) began.
    fn number(&mut self, start: usize, negative: bool) -> Result<Value, ParseError> {
        let digits_start = self.pos;
        let radix = match (self.peek(), self.peek_at(self.pos + 1)) {
            (Some(b'0'), Some(b'x' | b'X')) => 16,
            (Some(b'0'), Some(b'o' | b'O')) => 8,
            (Some(b'0'), Some(b'b' | b'B')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
            // An underscore may follow the prefix: `0x_ff`.
            if self.peek() == Some(b'_') {
                self.pos += 1;
            }
            let Some(magnitude) = self.digits(radix)? else {
                return Err(self.unexpected("digits after the base prefix"));
            };
            self.reject_suffix()?;
            return self.integer(start, magnitude, negative);
        }

        let int_part = self.digits(10)?;
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                self.digits(10)?;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits(10)?.is_none() {
                return Err(self.unexpected("exponent digits"));
            }
        }
        self.reject_suffix()?;
        let text = &self.src[digits_start..self.pos];

        if !is_float {
            let magnitude = int_part.unwrap_or_default();
            let all_zero = text.bytes().all(|b| b == b'0' || b == b'_');
            if text.starts_with('0') && !all_zero {
                return Err(self.error_at(
                    digits_start,
                    "leading zeros in decimal integers are not permitted (use 0o for octal)",
                ));
            }
            return self.integer(start, magnitude, negative);
        }

        let cleaned: String = text.chars().filter(|&c| c != '_').collect();
        let parsed: f64 = cleaned
            .parse()
            .map_err(|_| self.error_at(digits_start, "invalid float"))?;
        let signed = if negative { -parsed } else { parsed };
        Number::from_f64(signed)
            .map(Value::Number)
            .ok_or_else(|| self.error_at(start, "float out of range"))
    }

    /// Digits of `radix` with single underscores between them; `None` if there is no digit.
    /// Returns the value, saturated at `u64::MAX` + 1 (as u128) so overflow is detected later.
    fn digits(&mut self, radix: u32) -> Result<Option<u128>, ParseError> {
        let mut value: u128 = 0;
        let mut any = false;
        loop {
            match self.peek().and_then(|byte| (byte as char).to_digit(radix)) {
                Some(digit) => {
                    value = (value * u128::from(radix) + u128::from(digit)).min(OVERFLOWED);
                    any = true;
                    self.pos += 1;
                }
                None if any
                    && self.peek() == Some(b'_')
                    && self
                        .peek_at(self.pos + 1)
                        .and_then(|byte| (byte as char).to_digit(radix))
                        .is_some() =>
                {
                    self.pos += 1;
                }
                None => break,
            }
        }
        if any && self.peek() == Some(b'_') {
            return Err(self.error_at(self.pos, "invalid number"));
        }
        Ok(any.then_some(value))
    }

    /// A number directly followed by a letter, digit or underscore is malformed (`1j`, `1_`,
    /// `0x1g`, `1abc`).
    fn reject_suffix(&self) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'j' | b'J') => Err(self.error_at(self.pos, "complex numbers are not supported")),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.') => {
                Err(self.error_at(self.pos, "invalid number"))
            }
            _ => Ok(()),
        }
    }

    fn integer(&self, start: usize, magnitude: u128, negative: bool) -> Result<Value, ParseError> {
        let value = if negative {
            0i128.checked_sub(magnitude as i128)
        } else {
            Some(magnitude as i128)
        };
        value
            .and_then(|value| i64::try_from(value).ok())
            .map(Value::from)
            .ok_or_else(|| self.error_at(start, "integer out of range (must fit in 64 bits)"))
    }
}

/// `-number` (or `number` itself), `None` if it does not fit.
fn negate(number: Number, negative: bool) -> Option<Value> {
    if !negative {
        return Some(Value::Number(number));
    }
    if let Some(int) = number.as_i64() {
        return int.checked_neg().map(Value::from);
    }
    number
        .as_f64()
        .and_then(|float| Number::from_f64(-float))
        .map(Value::Number)
}

/// A magnitude past every i64, where digit accumulation stops growing.
const OVERFLOWED: u128 = 1 << 64;

fn is_operator(c: char) -> bool {
    matches!(
        c,
        '+' | '-' | '*' | '/' | '%' | '@' | '&' | '|' | '^' | '~' | '<' | '>' | '=' | '!' | '.'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// `Ok(value)` to expect a value, `Err((offset, fragment))` to expect an error at `offset`
    /// whose message contains `fragment`.
    fn check(input: &str, expected: Result<Value, (usize, &str)>) {
        let got = parse(input);
        match (&got, &expected) {
            (Ok(value), Ok(want)) => assert_eq!(value, want, "input {input:?}"),
            (Err(error), Err((offset, fragment))) => {
                assert_eq!(error.offset, *offset, "input {input:?}: {error}");
                assert!(
                    error.message.contains(fragment),
                    "input {input:?}: {error} lacks {fragment:?}"
                );
            }
            _ => panic!("input {input:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn flectra_examples() {
        let table: &[(&str, Value)] = &[
            ("['name', 'email']", json!(["name", "email"])),
            ("[('name', 'ilike', 'a')]", json!([["name", "ilike", "a"]])),
            (
                "['|', ('name','=','x'), '!', ('id','in',[1,2])]",
                json!(["|", ["name", "=", "x"], "!", ["id", "in", [1, 2]]]),
            ),
            (
                "[('name', 'like', 'XXX'), ]",
                json!([["name", "like", "XXX"]]),
            ),
            (
                "[(\"active\", \"=\", False)]",
                json!([["active", "=", false]]),
            ),
            (
                "[('parent_id', '=', None)]",
                json!([["parent_id", "=", null]]),
            ),
            ("[1, 2, 3]", json!([1, 2, 3])),
            ("[\"a\", \"b\"]", json!(["a", "b"])),
        ];
        for (input, want) in table {
            check(input, Ok(want.clone()));
        }
    }

    #[test]
    fn containers() {
        let table: &[(&str, Value)] = &[
            ("[]", json!([])),
            ("()", json!([])),
            ("( )", json!([])),
            ("(1,)", json!([1])),
            ("(1)", json!(1)),
            ("((1))", json!(1)),
            ("(1, 2,)", json!([1, 2])),
            ("[1, 2,]", json!([1, 2])),
            ("[[], [[]]]", json!([[], [[]]])),
            ("{}", json!({})),
            ("{'a': 1}", json!({"a": 1})),
            ("{'a': 1, 'b': [2, (3,)],}", json!({"a": 1, "b": [2, [3]]})),
            ("{1: 'x', -2: 'y'}", json!({"1": "x", "-2": "y"})),
            ("{'a': 1, 'b': 2, 'a': 3}", json!({"a": 3, "b": 2})),
            ("{'a': {'b': None}}", json!({"a": {"b": null}})),
            ("1, 2", json!([1, 2])),
            ("'a',", json!(["a"])),
            (" \n[\n 1 ,\n\t2\r\n]\n ", json!([1, 2])),
            ("[1, # one\n 2] # done", json!([1, 2])),
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", json!(null)),
            ("[True,False,None]", json!([true, false, null])),
        ];
        for (input, want) in table {
            check(input, Ok(want.clone()));
        }
    }

    #[test]
    fn strings() {
        let table: &[(&str, Value)] = &[
            ("'abc'", json!("abc")),
            ("\"abc\"", json!("abc")),
            ("''", json!("")),
            ("'it\\'s'", json!("it's")),
            ("\"say \\\"hi\\\"\"", json!("say \"hi\"")),
            ("'\"'", json!("\"")),
            ("\"'\"", json!("'")),
            ("'a\\nb\\tc\\\\d\\re'", json!("a\nb\tc\\d\re")),
            ("'\\a\\b\\f\\v'", json!("\x07\x08\x0c\x0b")),
            ("'\\x41\\x7e'", json!("A~")),
            ("'\\u00e9\\u20AC'", json!("é€")),
            ("'\\U0001F600'", json!("😀")),
            ("'\\101\\0\\7'", json!("A\0\x07")),
            ("'\\1012'", json!("A2")),
            ("'\\d\\w'", json!("\\d\\w")),
            ("'line\\\ncontinued'", json!("linecontinued")),
            ("'é€😀'", json!("é€😀")),
            ("r'\\d+\\n'", json!("\\d+\\n")),
            ("R\"a\\\"b\"", json!("a\\\"b")),
            ("r'\\\\'", json!("\\\\")),
            ("u'abc'", json!("abc")),
            ("U\"abc\"", json!("abc")),
            ("b'ab\\x41\\xff'", json!("abA\u{ff}")),
            ("b'\\u0041'", json!("\\u0041")),
            ("rb'\\x41'", json!("\\x41")),
            ("Br'\\x41'", json!("\\x41")),
            ("'a' 'b'", json!("ab")),
            ("'a'\"b\"r'\\c' u'd'", json!("ab\\cd")),
            ("b'a' b'b'", json!("ab")),
            ("['a' 'b', 'c']", json!(["ab", "c"])),
            ("'''a'b''c\nd'''", json!("a'b''c\nd")),
            ("\"\"\"x\"\"\"", json!("x")),
            ("'''a\r\nb\rc'''", json!("a\nb\nc")),
            ("'''a\\'''' ", json!("a'")),
        ];
        for (input, want) in table {
            check(input, Ok(want.clone()));
        }
    }

    #[test]
    fn numbers() {
        let table: &[(&str, Value)] = &[
            ("0", json!(0)),
            ("00", json!(0)),
            ("0_0", json!(0)),
            ("42", json!(42)),
            ("-42", json!(-42)),
            ("+42", json!(42)),
            ("- 7", json!(-7)),
            ("1_000", json!(1000)),
            ("0x1F", json!(31)),
            ("0X_ff", json!(255)),
            ("-0x10", json!(-16)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("9223372036854775807", json!(i64::MAX)),
            ("-9223372036854775808", json!(i64::MIN)),
            ("1.5", json!(1.5)),
            ("1.", json!(1.0)),
            ("-.5", json!(-0.5)),
            (".5", json!(0.5)),
            ("1e3", json!(1000.0)),
            ("1E-3", json!(0.001)),
            ("1.5e+2", json!(150.0)),
            ("1_0.2_5", json!(10.25)),
            ("01.5", json!(1.5)),
            ("1e-400", json!(0.0)),
            ("[-1, +2.5]", json!([-1, 2.5])),
            ("-(1)", json!(-1)),
            ("- ( (1.5) )", json!(-1.5)),
            ("+(7)", json!(7)),
            ("[1\\\n, 2]", json!([1, 2])),
        ];
        for (input, want) in table {
            check(input, Ok(want.clone()));
        }
    }

    #[test]
    fn errors() {
        let deep_list = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let deep_tuple = "(".repeat(MAX_DEPTH + 1) + "1" + &")".repeat(MAX_DEPTH + 1);
        let deep_dict = "{'a':".repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1);
        let table: &[(&str, (usize, &str))] = &[
            ("", (0, "expected a value, found end of input")),
            ("   ", (3, "expected a value")),
            ("'abc", (0, "unterminated string")),
            ("['a', 'bc]", (6, "unterminated string")),
            ("'a\nb'", (0, "unterminated string")),
            ("'''abc''", (0, "unterminated string")),
            ("'abc\\", (0, "unterminated string")),
            ("r'abc\\'", (0, "unterminated string")),
            ("[1,,2]", (3, "expected a value, found ','")),
            ("[,]", (1, "expected a value")),
            ("[1 2]", (3, "expected ',' or ']'")),
            ("[1", (2, "expected ',' or ']', found end of input")),
            ("(1 2)", (3, "expected ',' or ')'")),
            ("(1, 2", (5, "expected ',' or ')'")),
            ("{'a' 1}", (5, "expected ':'")),
            ("{'a': 1 'b': 2}", (8, "expected ',' or '}'")),
            ("{1, 2}", (2, "sets are not supported")),
            ("{None: 1}", (1, "string or integer dict key")),
            ("{1.5: 1}", (1, "string or integer dict key")),
            ("__import__('os')", (0, "the name `__import__`")),
            ("os.system('ls')", (0, "the name `os`")),
            ("true", (0, "only True, False and None")),
            ("null", (0, "the name `null`")),
            ("f'x'", (0, "the name `f`")),
            ("1+1", (1, "operators are not evaluated")),
            ("[1 + 1]", (3, "operators are not evaluated")),
            ("-'a'", (1, "a number after the sign")),
            ("--1", (1, "a number after the sign")),
            ("-", (1, "a number after the sign")),
            ("-True", (1, "a number after the sign")),
            ("+(-1)", (2, "a number after the sign")),
            ("-(1,)", (3, "expected ')'")),
            ("-('a')", (2, "a number after the sign")),
            ("1 if 1 else 2", (2, "expected end of input")),
            ("[1] [0]", (4, "expected end of input")),
            ("01", (0, "leading zeros")),
            ("1_", (1, "invalid number")),
            ("1__0", (1, "invalid number")),
            ("1abc", (1, "invalid number")),
            ("0x", (2, "digits after the base prefix")),
            ("0x_", (3, "digits after the base prefix")),
            ("0b2", (2, "digits after the base prefix")),
            ("1e", (2, "exponent digits")),
            ("1.5.3", (3, "invalid number")),
            ("1j", (1, "complex numbers")),
            ("9223372036854775808", (0, "integer out of range")),
            ("-9223372036854775809", (0, "integer out of range")),
            (
                "123456789012345678901234567890123456789012345",
                (0, "integer out of range"),
            ),
            ("1e400", (0, "float out of range")),
            ("-1e400", (0, "float out of range")),
            ("'\\x4'", (1, "2 hex digits after \\x")),
            ("'\\u12'", (1, "4 hex digits after \\u")),
            ("'\\U00110000'", (1, "not a Unicode scalar value")),
            ("'\\ud800'", (1, "not a Unicode scalar value")),
            ("'\\N{DASH}'", (1, "\\N{...} escapes are not supported")),
            ("b'é'", (2, "only contain ASCII")),
            ("b'\\777'", (2, "octal escape out of range")),
            ("'a' b'b'", (4, "cannot mix bytes and str")),
            ("@", (0, "expected a value, found '@'")),
            ("é", (0, "expected a value, found 'é'")),
            (&deep_list, (MAX_DEPTH, "nesting deeper than 64")),
            (&deep_tuple, (MAX_DEPTH, "nesting deeper than 64")),
            (&deep_dict, (MAX_DEPTH * 5, "nesting deeper than 64")),
        ];
        for (input, (offset, fragment)) in table {
            check(input, Err((*offset, fragment)));
        }
    }

    #[test]
    fn nesting_at_the_limit_is_accepted() {
        let list = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&list).is_ok());
    }

    #[test]
    fn oversized_input_is_refused() {
        let input = format!("'{}'", "a".repeat(MAX_INPUT));
        let error = parse(&input).expect_err("longer than MAX_INPUT");
        assert_eq!(error.offset, MAX_INPUT);
    }

    #[test]
    fn error_display_names_the_offset() {
        let error = parse("[1,,2]").expect_err("bad list");
        assert_eq!(error.to_string(), "expected a value, found ',' at byte 3");
    }

    /// Prints `value` as a Python literal; `style` varies quotes, tuples and spacing.
    fn to_python(value: &Value, style: u32, out: &mut String) {
        match value {
            Value::Null => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Number(number) => match number.as_i64() {
                Some(int) if style % 3 == 1 && int >= 0 => out.push_str(&format!("0x{int:x}")),
                Some(int) => out.push_str(&int.to_string()),
                None => {
                    let float = number.as_f64().expect("numbers from the strategy fit f64");
                    out.push_str(&format!("{float:?}"));
                }
            },
            Value::String(text) => {
                let quote = if style % 2 == 0 { '\'' } else { '"' };
                out.push(quote);
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c if c == quote => {
                            out.push('\\');
                            out.push(c);
                        }
                        c if (c as u32) < 0x20 || c == '\u{7f}' => {
                            out.push_str(&format!("\\x{:02x}", c as u32))
                        }
                        c if style % 5 == 0 && (c as u32) > 0xffff => {
                            out.push_str(&format!("\\U{:08x}", c as u32))
                        }
                        c if style % 5 == 0 && (c as u32) > 0x7f => {
                            out.push_str(&format!("\\u{:04x}", c as u32))
                        }
                        c => out.push(c),
                    }
                }
                out.push(quote);
            }
            Value::Array(items) => {
                let tuple = style % 2 == 1;
                out.push(if tuple { '(' } else { '[' });
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(if style % 4 == 0 { ",\n " } else { ", " });
                    }
                    to_python(item, style.rotate_left(3) ^ index as u32, out);
                }
                if tuple && items.len() == 1 {
                    out.push(',');
                }
                out.push(if tuple { ')' } else { ']' });
            }
            Value::Object(map) => {
                out.push('{');
                for (index, (key, item)) in map.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    to_python(&Value::String(key.clone()), style, out);
                    out.push_str(": ");
                    to_python(item, style.rotate_left(5) ^ index as u32, out);
                }
                out.push('}');
            }
        }
    }

    fn arbitrary_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter_map("finite", Number::from_f64)
                .prop_map(Value::Number),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(input in any::<String>()) {
            let _ = parse(&input);
        }

        #[test]
        fn literal_looking_text_never_panics(
            input in "[\\[\\](){}:,'\"\\\\ 0-9a-fxobjeEuUrRN_.+\\-TFn#\n]{0,64}"
        ) {
            let _ = parse(&input);
        }

        #[test]
        fn printed_values_parse_back(value in arbitrary_value(), style in any::<u32>()) {
            let mut text = String::new();
            to_python(&value, style, &mut text);
            prop_assert_eq!(parse(&text), Ok(value), "text {}", text);
        }
    }
}
