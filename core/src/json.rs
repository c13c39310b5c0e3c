//! A JSON reader built for what the policy does with a request: read a few fields, skip the
//! rest.
//!
//! Through serde, each field of a typed struct passes through visitor and map-access layers,
//! and in WebAssembly (32-bit words, no SIMD) reading a 2 KB Pod that way cost more than half
//! again what serde_json takes to merely skip it. This reader checks what it skips by the same
//! grammar as serde_json (no recursion, so any depth; the fuzz target `json_grammar` compares
//! the two), scans strings eight bytes a step, and borrows the strings it reads.
//!
//! Its errors keep the position of the byte at fault: [`describe`] names the field there, says
//! a wrong type as serde does (`invalid type: string "x", expected a sequence`), and words a
//! syntax error as serde_json does, at its line and column, so every message reads as it did
//! when the request was read through serde (the tests and the fuzz target compare them).

use crate::json_path;
use std::borrow::Cow;

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// What could not be read, at which byte of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    at: usize,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// Not JSON: worded as serde_json words it (see [`describe`]).
    Syntax,
    /// JSON, but not what the policy reads there.
    Data(String),
}

impl Error {
    /// The same error, for a text that starts `offset` bytes into a larger one.
    pub(crate) fn shifted(self, offset: usize) -> Error {
        Error {
            at: self.at + offset,
            ..self
        }
    }
}

/// The message for `error`, found in `text`: the path of the field it is about, then what is
/// wrong (`request.object.spec.volumes: invalid type: string "x", expected a sequence`).
pub(crate) fn describe(text: &[u8], error: &Error) -> String {
    match &error.what {
        What::Data(message) => json_path::at(text, error.at, message),
        What::Syntax => match serde_syntax_error(text) {
            Some((message, index)) => {
                let (line, column) = serde_position(text, index);
                let message = format!("{message} at line {line} column {column}");
                json_path::at(text, index, &message)
            }
            // The grammars differ (a bug the fuzz target looks for): still an answer.
            None => json_path::at(text, error.at, "invalid JSON"),
        },
    }
}

/// What serde_json says of the first syntax error in `text` read as one value it ignores, and
/// the index of the byte its position names; `None` if it reads `text`. A port of its
/// `ignore_value` and `end`, so that a request that is not JSON is refused in the words it
/// always was (the property tests compare the two) without serde_json's reader in the module.
fn serde_syntax_error(text: &[u8]) -> Option<(&'static str, usize)> {
    SerdeGrammar { text, i: 0 }.value().err()
}

struct SerdeGrammar<'t> {
    text: &'t [u8],
    i: usize,
}

/// serde_json's words for an error, and the index of the byte its position names.
type Serde<T> = std::result::Result<T, (&'static str, usize)>;

impl SerdeGrammar<'_> {
    /// An error about the byte just taken.
    fn error<T>(&self, message: &'static str) -> Serde<T> {
        Err((message, self.i))
    }

    /// An error about the byte ahead.
    fn peek_error<T>(&self, message: &'static str) -> Serde<T> {
        Err((message, (self.i + 1).min(self.text.len())))
    }

    fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.text.get(self.i) {
            self.i += 1;
        }
        self.text.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.text.get(self.i).copied();
        self.i += usize::from(byte.is_some());
        byte
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.text.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn value(&mut self) -> Serde<()> {
        // The brackets open around the value being read, innermost last.
        let mut open = Vec::new();
        loop {
            match self.peek() {
                None => return self.peek_error("EOF while parsing a value"),
                Some(b'-') => {
                    self.i += 1;
                    self.number()?;
                }
                Some(b'0'..=b'9') => self.number()?,
                Some(first @ (b'n' | b't' | b'f' | b'"' | b'[' | b'{')) => {
                    self.i += 1;
                    match first {
                        b'n' => self.ident(b"ull")?,
                        b't' => self.ident(b"rue")?,
                        b'f' => self.ident(b"alse")?,
                        b'"' => self.string()?,
                        // An empty array or object is a value that ended.
                        _ if self.close_or_key(first, false)? => {
                            open.push(first);
                            continue;
                        }
                        _ => {}
                    }
                }
                Some(_) => return self.peek_error("expected value"),
            }
            // A value ended: close what it ends, until a comma starts the next one.
            loop {
                let Some(&bracket) = open.last() else {
                    return match self.peek() {
                        Some(_) => self.peek_error("trailing characters"),
                        None => Ok(()),
                    };
                };
                if self.close_or_key(bracket, true)? {
                    break;
                }
                open.pop();
            }
        }
    }

    /// After the opening bracket `open` (`after_value` false) or a value in it: true if a
    /// value follows (its key read, in an object), false if the bracket closed.
    fn close_or_key(&mut self, open: u8, after_value: bool) -> Serde<bool> {
        let (close, eof, expected) = match open {
            b'[' => (b']', "EOF while parsing a list", "expected `,` or `]`"),
            _ => (b'}', "EOF while parsing an object", "expected `,` or `}`"),
        };
        match self.peek() {
            Some(b',') if after_value => self.i += 1,
            Some(byte) if byte == close => {
                self.i += 1;
                return Ok(false);
            }
            Some(_) if after_value => return self.peek_error(expected),
            Some(_) => {}
            None => return self.peek_error(eof),
        }
        if open == b'{' {
            match self.peek() {
                Some(b'"') => self.i += 1,
                Some(_) => return self.peek_error("key must be a string"),
                None => return self.peek_error(eof),
            }
            self.string()?;
            match self.peek() {
                Some(b':') => self.i += 1,
                Some(_) => return self.peek_error("expected `:`"),
                None => return self.peek_error(eof),
            }
        }
        Ok(true)
    }

    fn ident(&mut self, rest: &[u8]) -> Serde<()> {
        for &expected in rest {
            match self.next() {
                None => return self.error("EOF while parsing a value"),
                Some(byte) if byte != expected => return self.error("expected ident"),
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Serde<()> {
        match self.next() {
            Some(b'0') if self.text.get(self.i).is_some_and(u8::is_ascii_digit) => {
                return self.peek_error("invalid number");
            }
            Some(b'0') => {}
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.error("invalid number"),
        }
        if self.text.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.peek_error("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.text.get(self.i) {
                self.i += 1;
            }
            if !self.next().is_some_and(|byte| byte.is_ascii_digit()) {
                return self.error("invalid number");
            }
            self.digits();
        }
        Ok(())
    }

    /// The rest of a string after its opening quote.
    fn string(&mut self) -> Serde<()> {
        loop {
            match self.text.get(self.i) {
                None => return self.error("EOF while parsing a string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.next() {
                        None => return self.error("EOF while parsing a string"),
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => match self.text.get(self.i..self.i + 4) {
                            Some(hex) => {
                                self.i += 4;
                                if !hex.iter().all(u8::is_ascii_hexdigit) {
                                    return self.error("invalid escape");
                                }
                            }
                            None => {
                                self.i = self.text.len();
                                return self.error("EOF while parsing a string");
                            }
                        },
                        Some(_) => return self.error("invalid escape"),
                    }
                }
                Some(0x00..=0x1f) => {
                    return self
                        .error("control character (\\u0000-\\u001F) found while parsing a string");
                }
                Some(_) => self.i += 1,
            }
        }
    }
}

/// The line and column serde_json gives for byte index `index` (the column counts the bytes
/// of its line before it).
fn serde_position(text: &[u8], index: usize) -> (usize, usize) {
    let before = &text[..index];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let line = 1 + before[..line_start].iter().filter(|&&b| b == b'\n').count();
    (line, index - line_start)
}

/// Objects and arrays read field by field, or into a `Value`, may nest 127 deep, as in
/// serde_json; the skipped ones may nest to any depth.
const DEPTH_LIMIT: u32 = 128;

/// Reads one JSON text front to back.
pub(crate) struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    depth: u32,
    /// Where the last key [`Reader::next_key`] read is written (quotes included), and whether
    /// it has escapes.
    key_span: (usize, usize, bool),
}

/// A value the reader can build.
pub(crate) trait Read<'a>: Sized {
    fn read(reader: &mut Reader<'a>) -> Result<Self>;
}

/// The value at `keys` (`["spec", "template", "spec"]`) in the JSON object `text`, read as a
/// `T` in the same pass that skips everything else; `None` when a key is missing or a value on
/// the way is `null`. A value on the way that is not an object, a key written twice and a value
/// that is not a `T` are errors, located in `text`.
pub(crate) fn read_at<'a, T: Read<'a>>(text: &'a [u8], keys: &[&str]) -> Result<Option<T>> {
    let mut reader = Reader::new(text);
    let value = reader.read_at(keys)?;
    match reader.peek() {
        None => Ok(value),
        Some(_) => reader.syntax(),
    }
}

impl<'a> Reader<'a> {
    fn read_at<T: Read<'a>>(&mut self, keys: &[&str]) -> Result<Option<T>> {
        if self.null()? {
            return Ok(None);
        }
        let Some((key, rest)) = keys.split_first() else {
            return T::read(self).map(Some);
        };
        self.begin_object("a map")?;
        let (mut after_value, mut found) = (false, None);
        while let Some(name) = self.next_key(&mut after_value)? {
            if *name != *key.as_bytes() {
                self.skip()?;
            } else if found.is_some() {
                return Err(self.duplicate(key));
            } else {
                found = Some(self.read_at(rest)?);
            }
        }
        Ok(found.flatten())
    }
}

/// Reads `text` as one `T` and nothing else.
pub(crate) fn from_slice<'a, T: Read<'a>>(text: &'a [u8]) -> Result<T> {
    let mut reader = Reader::new(text);
    let value = T::read(&mut reader)?;
    match reader.peek() {
        None => Ok(value),
        Some(_) => reader.syntax(),
    }
}

/// [`from_slice`] for a text, in tests.
#[cfg(test)]
pub(crate) fn from_str<'a, T: Read<'a>>(text: &'a str) -> Result<T> {
    from_slice(text.as_bytes())
}

/// `a == b` for the short keys of a request, without a call to `memcmp`, whose byte loop pays
/// policy-server's epoch check on every byte: up to 16 bytes are compared as two overlapping
/// words, or halves of words, or three bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn ends<const N: usize>(x: &[u8]) -> ([u8; N], [u8; N]) {
        match (x.first_chunk::<N>(), x.last_chunk::<N>()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => ([0; N], [0; N]),
        }
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..4 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..8 => {
            let ((a0, a1), (b0, b1)) = (ends::<4>(a), ends::<4>(b));
            u32::from_le_bytes(a0) == u32::from_le_bytes(b0)
                && u32::from_le_bytes(a1) == u32::from_le_bytes(b1)
        }
        8..=16 => {
            let ((a0, a1), (b0, b1)) = (ends::<8>(a), ends::<8>(b));
            u64::from_le_bytes(a0) == u64::from_le_bytes(b0)
                && u64::from_le_bytes(a1) == u64::from_le_bytes(b1)
        }
        _ => a == b,
    }
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
pub(crate) const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Nonzero exactly when a byte of `word` is `"`, `\` or a control character, the bytes that
/// end a run of plain string content; its lowest set bit marks the first such byte.
pub(crate) fn string_stops(word: u64) -> u64 {
    (has_byte(word, b'"') | has_byte(word, b'\\') | word.wrapping_sub(ONES * 0x20)) & !word & HIGHS
}

/// The high bit of each byte of `word` that is `byte` is set (and maybe of bytes above the
/// first such byte: the lowest set bit is exact), masked with [`HIGHS`] by the caller.
#[inline(always)]
pub(crate) fn has_byte(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x
}

/// Where the run of bytes from `at` that `stops` marks none of ends, eight bytes a step: at
/// the first byte it marks, or where fewer than eight bytes are left.
#[inline(always)]
pub(crate) fn run_end(text: &[u8], mut at: usize, stops: impl Fn(u64) -> u64) -> usize {
    while let Some(chunk) = text.get(at..at + 8) {
        let marks = stops(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        if marks != 0 {
            return at + (marks.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Reader<'a> {
        Reader {
            text,
            at: 0,
            depth: 0,
            key_span: (0, 0, false),
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.text.get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn syntax<T>(&self) -> Result<T> {
        Err(Error {
            at: self.at,
            what: What::Syntax,
        })
    }

    fn data(&self, at: usize, message: String) -> Error {
        Error {
            at,
            what: What::Data(message),
        }
    }

    /// `invalid type: ..., expected {expected}` for the value ahead, as serde words it; a
    /// syntax error if that value is not JSON.
    pub(crate) fn invalid_type(&mut self, expected: &str) -> Error {
        let Some(first) = self.peek() else {
            return self.syntax::<()>().unwrap_err();
        };
        let at = self.at;
        let found = match first {
            b'[' => "sequence".to_string(),
            b'{' => "map".to_string(),
            b'"' => match self.string() {
                Ok(text) => format!("string {text:?}"),
                Err(error) => return error,
            },
            b't' | b'f' | b'n' => match self.skip() {
                Ok(()) if first == b'n' => "null".to_string(),
                Ok(()) => format!("boolean `{}`", first == b't'),
                Err(error) => return error,
            },
            _ => match self.skip() {
                Ok(()) => {
                    // A number: serde names it by how it parses; its text is what was written.
                    let number = String::from_utf8_lossy(&self.text[at..self.at]);
                    let kind = if written_as_integer(&number) {
                        "integer"
                    } else {
                        "floating point"
                    };
                    format!("{kind} `{number}`")
                }
                Err(error) => return error,
            },
        };
        self.data(at, format!("invalid type: {found}, expected {expected}"))
    }

    /// `duplicate field `name``, for the key just read.
    pub(crate) fn duplicate(&self, name: &str) -> Error {
        self.data(self.at, format!("duplicate field `{name}`"))
    }

    /// `unknown field `key`, expected ...`, for the key just read, listing `names`.
    pub(crate) fn unknown_field(&self, names: &[&str]) -> Error {
        let (start, end, escaped) = self.key_span;
        let key = self
            .literal_text(start, end, escaped)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.text[start + 1..end - 1]));
        let expected = match names {
            [] => "there are no fields".to_string(),
            [name] => format!("expected `{name}`"),
            [first, second] => format!("expected `{first}` or `{second}`"),
            names => format!("expected one of {}", listed(names)),
        };
        self.data(self.at, format!("unknown field `{key}`, {expected}"))
    }

    /// `missing field `name``, for the object just read.
    pub(crate) fn missing(&self, name: &str) -> Error {
        self.data(self.at, format!("missing field `{name}`"))
    }

    /// The string written between `start` and `end` (quotes included): borrowed unless it has
    /// escapes, an error in serde_json's words if it cannot be decoded.
    fn literal_text(&self, start: usize, end: usize, escaped: bool) -> Result<Cow<'a, str>> {
        let body = &self.text[start + 1..end - 1];
        if !escaped && let Ok(text) = std::str::from_utf8(body) {
            return Ok(Cow::Borrowed(text));
        }
        decoded(body)
            .map(Cow::Owned)
            .map_err(|message| self.data(start, message.to_string()))
    }

    /// Where the value ahead starts.
    pub(crate) fn offset(&mut self) -> usize {
        self.peek();
        self.at
    }

    /// True, and the `null` read, when the value ahead is `null`.
    pub(crate) fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    /// A string, borrowed unless it has escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.invalid_type("a string"));
        }
        let start = self.at;
        self.at += 1;
        let escaped = self.string_body()?;
        self.literal_text(start, self.at, escaped)
    }

    pub(crate) fn boolean(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|()| true),
            Some(b'f') => self.literal(b"false").map(|()| false),
            _ => Err(self.invalid_type("a boolean")),
        }
    }

    /// Starts reading the object ahead: its keys come from [`Reader::next_key`].
    pub(crate) fn begin_object(&mut self, expected: &str) -> Result<()> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type(expected));
        }
        self.enter()?;
        self.at += 1;
        Ok(())
    }

    /// The next key of the object being read, decoded, with its colon (`None` once the object
    /// is closed). `after_value` is false before the first key; the caller reads or skips the
    /// value.
    pub(crate) fn next_key(&mut self, after_value: &mut bool) -> Result<Option<Cow<'a, [u8]>>> {
        let text = self.text;
        let mut at = whitespace_end(text, self.at);
        match (text.get(at), *after_value) {
            (Some(b'}'), _) => {
                self.at = at + 1;
                self.depth -= 1;
                return Ok(None);
            }
            (Some(b','), true) => at = whitespace_end(text, at + 1),
            (Some(b'"'), false) => *after_value = true,
            _ => return self.stopped(at),
        }
        let (end, escaped) = match key_end(text, at) {
            Ok(key) => key,
            Err(stop) => return self.stopped(stop),
        };
        self.at = match colon_end(text, end) {
            Ok(value) => value,
            Err(stop) => return self.stopped(stop),
        };
        self.key_span = (at, end, escaped);
        let body = &text[at + 1..end - 1];
        // Keys with escapes are rare: only they call out to be decoded.
        Ok(Some(if escaped {
            Cow::Owned(key_to_match(body))
        } else {
            Cow::Borrowed(body)
        }))
    }

    /// An array, each of whose items `item` reads.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        if self.peek() != Some(b'[') {
            return Err(self.invalid_type("a sequence"));
        }
        self.enter()?;
        self.at += 1;
        if self.peek() == Some(b']') {
            self.at += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => break,
                _ => return self.syntax(),
            }
        }
        self.at += 1;
        self.depth -= 1;
        Ok(())
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth + 1 == DEPTH_LIMIT {
            return Err(self.data(self.at, "recursion limit exceeded".to_string()));
        }
        self.depth += 1;
        Ok(())
    }

    /// The JSON text of the value ahead, checked.
    pub(crate) fn raw(&mut self) -> Result<&'a [u8]> {
        self.peek();
        let start = self.at;
        self.skip()?;
        Ok(&self.text[start..self.at])
    }

    /// [`Reader::raw`], noting on the way where the values of `keys` are written in it (as
    /// ranges of the text returned), when the value is an object; `None` instead of the notes
    /// when it is not an object, or writes one of `keys` twice, or any key with escapes (which
    /// could be one of them), or a string with escapes as the value of one of `keys`: such a
    /// value is read whole. A noted string is plain.
    pub(crate) fn raw_noting<const N: usize>(
        &mut self,
        keys: [&[u8]; N],
    ) -> Result<(&'a [u8], Option<Notes<N>>)> {
        self.peek();
        let start = self.at;
        match object_end_noting(self.text, start, keys) {
            Ok((end, notes)) => {
                self.at = end;
                Ok((&self.text[start..end], notes))
            }
            Err(at) => self.stopped(at),
        }
    }

    /// Skips the value ahead, checking it as serde_json checks a value it ignores.
    pub(crate) fn skip(&mut self) -> Result<()> {
        self.scanned(value_end(self.text, self.at))
    }

    /// The rest of a string after its opening quote, checked (control characters, escapes);
    /// true if it has escapes.
    fn string_body(&mut self) -> Result<bool> {
        match string_end(self.text, self.at) {
            Ok((end, escaped)) => {
                self.at = end;
                Ok(escaped)
            }
            Err(at) => self.stopped(at),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        self.scanned(literal_end(self.text, self.at, word))
    }

    /// Moves to where a scan ended, or fails where it stopped.
    fn scanned(&mut self, end: Scan) -> Result<()> {
        match end {
            Ok(end) => {
                self.at = end;
                Ok(())
            }
            Err(at) => self.stopped(at),
        }
    }

    /// A syntax error at `at`, where a scan found something that is not JSON.
    fn stopped<T>(&mut self, at: usize) -> Result<T> {
        self.at = at;
        self.syntax()
    }
}

// The scans of the text: each takes where to start and returns where it ends, or `Err` with
// where the text stops being JSON. Positions stay in locals (registers) and the functions
// touch no memory but the text: as `Reader` methods that move `self.at`, WebAssembly stored
// the position to memory at each step.

/// Where a scan ended, or where it found something that is not JSON.
type Scan = std::result::Result<usize, usize>;

/// Where the whitespace at `at` ends.
#[inline(always)]
fn whitespace_end(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = text.get(at) {
        at += 1;
    }
    at
}

/// Where the value at `at` (whitespace first) ends, checked as serde_json checks a value it
/// ignores, at any depth and without recursion.
fn value_end(text: &[u8], mut at: usize) -> Scan {
    // Whether each open level is an object, the innermost in the lowest bit: `len` levels in
    // `bits`, deeper ones in `spilled`, sixty-four to a word.
    let (mut bits, mut len) = (0u64, 0u32);
    let mut spilled: Vec<u64> = Vec::new();
    loop {
        at = whitespace_end(text, at);
        match text.get(at) {
            Some(b'"') => at = string_end(text, at + 1)?.0,
            Some(&open @ (b'{' | b'[')) => {
                at = whitespace_end(text, at + 1);
                let close = if open == b'{' { b'}' } else { b']' };
                if text.get(at) == Some(&close) {
                    at += 1;
                } else {
                    if len == 64 {
                        spilled.push(bits);
                        len = 0;
                    }
                    bits = bits << 1 | u64::from(open == b'{');
                    len += 1;
                    if open == b'{' {
                        at = colon_end(text, key_end(text, at)?.0)?;
                    }
                    continue;
                }
            }
            Some(b't') => at = literal_end(text, at, b"true")?,
            Some(b'f') => at = literal_end(text, at, b"false")?,
            Some(b'n') => at = literal_end(text, at, b"null")?,
            Some(b'-' | b'0'..=b'9') => at = number_end(text, at)?,
            _ => return Err(at),
        }
        // A value ended: close what it ends, until a comma starts the next one.
        loop {
            if len == 0 {
                return Ok(at);
            }
            let object = bits & 1 == 1;
            at = whitespace_end(text, at);
            match text.get(at) {
                Some(b',') => {
                    at += 1;
                    if object {
                        at = whitespace_end(text, at);
                        at = colon_end(text, key_end(text, at)?.0)?;
                    }
                    break;
                }
                Some(b'}') if object => {}
                Some(b']') if !object => {}
                _ => return Err(at),
            }
            at += 1;
            bits >>= 1;
            len -= 1;
            if len == 0
                && let Some(word) = spilled.pop()
            {
                bits = word;
                len = 64;
            }
        }
    }
}

/// Where the values of some keys of an object are, from its start: see [`Reader::raw_noting`].
pub(crate) type Notes<const N: usize> = [Option<std::ops::Range<usize>>; N];

/// [`value_end`] of the value at `start`, and the [`Notes`] of `keys` if it is an object: the
/// object's own level is scanned here, each of its values by [`value_end`].
fn object_end_noting<const N: usize>(
    text: &[u8],
    start: usize,
    keys: [&[u8]; N],
) -> std::result::Result<(usize, Option<Notes<N>>), usize> {
    if text.get(start) != Some(&b'{') {
        return value_end(text, start).map(|end| (end, None));
    }
    let mut notes = Some([const { None }; N]);
    let mut at = whitespace_end(text, start + 1);
    if text.get(at) == Some(&b'}') {
        return Ok((at + 1, notes));
    }
    loop {
        let (key_end, escaped) = key_end(text, at)?;
        let key = &text[at + 1..key_end - 1];
        let value = whitespace_end(text, colon_end(text, key_end)?);
        // Most values of a container's own level are strings: scanned here, without a call.
        let (value_end, value_escaped) = match text.get(value) {
            Some(b'"') => string_end(text, value + 1)?,
            _ => (value_end(text, value)?, false),
        };
        if let Some(noted) = &mut notes {
            match keys.iter().position(|name| same_bytes(name, key)) {
                _ if escaped => notes = None,
                Some(i) if noted[i].is_some() || value_escaped => notes = None,
                Some(i) => noted[i] = Some(value - start..value_end - start),
                None => {}
            }
        }
        at = whitespace_end(text, value_end);
        match text.get(at) {
            Some(b',') => at = whitespace_end(text, at + 1),
            Some(b'}') => return Ok((at + 1, notes)),
            _ => return Err(at),
        }
    }
}

/// Where the key (a string) at `at` ends, and whether it has escapes.
#[inline(always)]
fn key_end(text: &[u8], at: usize) -> std::result::Result<(usize, bool), usize> {
    match text.get(at) {
        Some(b'"') => string_end(text, at + 1),
        _ => Err(at),
    }
}

/// Where the colon after a key (whitespace first) ends.
#[inline(always)]
fn colon_end(text: &[u8], at: usize) -> Scan {
    let at = whitespace_end(text, at);
    match text.get(at) {
        Some(b':') => Ok(at + 1),
        _ => Err(at),
    }
}

/// Where the string whose content starts at `at` ends (after its closing quote), checked
/// (control characters, escapes), and whether it has escapes. Plain content is scanned eight
/// bytes a step. Inlined: a call per string cost 5-11% of reading a request.
#[inline(always)]
fn string_end(text: &[u8], mut at: usize) -> std::result::Result<(usize, bool), usize> {
    let mut escaped = false;
    loop {
        at = run_end(text, at, string_stops);
        match text.get(at) {
            Some(b'"') => return Ok((at + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                at += 1;
                match text.get(at) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 1,
                    Some(b'u') => {
                        at += 1;
                        for _ in 0..4 {
                            if !text.get(at).is_some_and(u8::is_ascii_hexdigit) {
                                return Err(at);
                            }
                            at += 1;
                        }
                    }
                    _ => return Err(at),
                }
            }
            Some(0x20..) => at += 1,
            _ => return Err(at),
        }
    }
}

fn literal_end(text: &[u8], at: usize, word: &[u8]) -> Scan {
    match text.get(at..) {
        Some(rest) if rest.starts_with(word) => Ok(at + word.len()),
        _ => Err(at),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn number_end(text: &[u8], mut at: usize) -> Scan {
    let digits = |mut at: usize| {
        while text.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    if text.get(at) == Some(&b'-') {
        at += 1;
    }
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(at + 1),
        _ => return Err(at),
    }
    if text.get(at) == Some(&b'.') {
        let end = digits(at + 1);
        if end == at + 1 {
            return Err(end);
        }
        at = end;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits(at);
        if end == at {
            return Err(at);
        }
        at = end;
    }
    Ok(at)
}

/// A key with escapes as written between its quotes, decoded for matching only: a key that
/// cannot be decoded keeps its escapes, which no name has.
fn key_to_match(body: &[u8]) -> Vec<u8> {
    decoded(body).map_or_else(|_| body.to_vec(), String::into_bytes)
}

/// A string's content with its escapes decoded (string_body has checked their form), or what
/// serde_json says of a string it cannot decode.
fn decoded(body: &[u8]) -> std::result::Result<String, &'static str> {
    let hex = |at: usize| {
        let digits = body
            .get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok());
        digits.and_then(|digits| u32::from_str_radix(digits, 16).ok())
    };
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        at += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let escape = body.get(at).copied().unwrap_or_default();
        at += 1;
        let simple = match escape {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            other => other,
        };
        if escape != b'u' {
            out.push(simple);
            continue;
        }
        let unit = hex(at).ok_or("invalid escape")?;
        at += 4;
        let code = match unit {
            0xDC00..=0xDFFF => return Err("lone leading surrogate in hex escape"),
            0xD800..=0xDBFF => {
                if body.get(at..at + 2) != Some(b"\\u") {
                    return Err("unexpected end of hex escape");
                }
                let low = hex(at + 2).ok_or("invalid escape")?;
                at += 6;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err("lone leading surrogate in hex escape");
                }
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            unit => unit,
        };
        let c = char::from_u32(code).ok_or("invalid unicode code point")?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    String::from_utf8(out).map_err(|_| "invalid unicode code point")
}

/// A number without a fraction or an exponent, which serde_json reads as an integer if it fits.
fn written_as_integer(number: &str) -> bool {
    !number.contains(['.', 'e', 'E'])
}

/// Names as serde lists them: `` `a`, `b`, `c` ``.
fn listed(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    names.join(", ")
}

impl<'a> Read<'a> for Cow<'a, str> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.string()
    }
}

impl<'a> Read<'a> for String {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.string().map(Cow::into_owned)
    }
}

impl<'a> Read<'a> for bool {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.boolean()
    }
}

/// `null` is `None`.
impl<'a, T: Read<'a>> Read<'a> for Option<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        if reader.null()? {
            return Ok(None);
        }
        T::read(reader).map(Some)
    }
}

impl<'a, T: Read<'a>> Read<'a> for Box<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        T::read(reader).map(Box::new)
    }
}

impl<'a, T: Read<'a>> Read<'a> for Vec<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        let mut items = Vec::new();
        reader.array(|reader| {
            items.push(T::read(reader)?);
            Ok(())
        })?;
        Ok(items)
    }
}

/// Any value, of which only its presence matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Present;

impl<'a> Read<'a> for Present {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.skip().map(|()| Present)
    }
}

/// A value read, with the JSON text it was read from: the request's objects, whose text the
/// rare paths that need them whole (mutation, the template comparison) use as it is.
#[derive(Debug, Default)]
pub(crate) struct WithText<'a, T> {
    pub(crate) value: T,
    pub(crate) text: &'a [u8],
}

impl<'a, T: Read<'a>> Read<'a> for WithText<'a, T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        let start = reader.offset();
        let value = T::read(reader)?;
        Ok(WithText {
            value,
            text: &reader.text[start..reader.at],
        })
    }
}

impl<T> std::ops::Deref for WithText<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// A value kept as its JSON text, checked, to be read later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(pub(crate) &'a [u8]);

impl<'a> Read<'a> for Raw<'a> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.raw().map(Raw)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn skipped(text: &[u8]) -> Result<()> {
        from_slice::<Present>(text).map(drop)
    }

    /// Every length up to past the words' range, and a difference at every position of it.
    #[test]
    fn same_bytes_is_equality() {
        for n in 0..=20usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
            assert!(same_bytes(&a, &a.clone()), "{n} bytes");
            if n > 0 {
                assert!(!same_bytes(&a, &a[..n - 1]), "{n} bytes against one fewer");
            }
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{n} bytes, differing at {at}");
            }
        }
    }

    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn skips_what_serde_json_accepts_and_only_that() {
        for text in [
            &br#"{"a":[1,-0.5e+3,true,false,null,"s\"\\\/\b\f\n\r\t\u00e9"],"":{}}"#[..],
            b" [ ] ",
            b"\"\xff\xfe\"",
            b"0",
            b"-0",
            b"1E9",
            br#"{"k":"\ud800"}"#,
        ] {
            assert!(serde_accepts(text), "{}", String::from_utf8_lossy(text));
            assert_eq!(skipped(text), Ok(()), "{}", String::from_utf8_lossy(text));
        }
        for text in [
            &b""[..],
            b"{",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\"}",
            b"{1:2}",
            b"01",
            b"1.",
            b"1e",
            b"-",
            b".5",
            b"tru",
            b"nul",
            b"\"a",
            b"\"\\x\"",
            b"\"\\u12g4\"",
            b"\"a\x01\"",
            b"[1 2]",
            b"{} {}",
            b"\xff",
        ] {
            assert!(!serde_accepts(text), "{}", String::from_utf8_lossy(text));
            assert!(skipped(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn scans_long_strings_a_word_at_a_time_and_misses_no_byte() {
        for at in 0..24 {
            for (byte, valid) in [
                (b'\x01', false),
                (b'\x1f', false),
                (b'"', false),
                (0x7f, true),
            ] {
                let mut text = b"\"abcdefghijklmnopqrstuvwxyz\"".to_vec();
                text[1 + at] = byte;
                let text = &text[..];
                assert_eq!(
                    skipped(text).is_ok(),
                    valid,
                    "{}",
                    String::from_utf8_lossy(text)
                );
                assert_eq!(serde_accepts(text), valid);
            }
            let mut escaped = b"\"abcdefghijklmnopqrstuvwxyz\"".to_vec();
            escaped.splice(1 + at..1 + at, *b"\\\"");
            assert_eq!(skipped(&escaped), Ok(()));
        }
    }

    #[test]
    fn skips_any_depth_without_recursion() {
        let depth = 200_000;
        let text = format!("{}0{}", "[{\"a\":".repeat(depth), "}]".repeat(depth));
        assert_eq!(skipped(text.as_bytes()), Ok(()));
        let unbalanced = format!("{}{}", "[".repeat(depth), "]".repeat(depth - 1));
        assert!(skipped(unbalanced.as_bytes()).is_err());
    }

    #[test]
    fn reading_field_by_field_stops_at_serde_json_depth() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        #[derive(Debug)]
        struct Nested;
        impl<'a> Read<'a> for Nested {
            fn read(reader: &mut Reader<'a>) -> Result<Self> {
                reader.array(|reader| Nested::read(reader).map(drop))?;
                Ok(Nested)
            }
        }
        let error = from_slice::<Nested>(text.as_bytes()).unwrap_err();
        assert_eq!(error.at, 127);
        let message = describe(text.as_bytes(), &error);
        assert!(
            message.ends_with("...: recursion limit exceeded"),
            "{message}"
        );
    }

    #[test]
    fn wrong_types_read_as_serde_words_them() {
        for (text, message) in [
            (
                r#"["a",7]"#,
                "[1]: invalid type: integer `7`, expected a string",
            ),
            (
                r#"["a",-1.5e3]"#,
                "[1]: invalid type: floating point `-1.5e3`, expected a string",
            ),
            ("[null]", "[0]: invalid type: null, expected a string"),
            (
                "[true]",
                "[0]: invalid type: boolean `true`, expected a string",
            ),
            (r#"[{"a":1}]"#, "[0]: invalid type: map, expected a string"),
            (r#"{"a":1}"#, "invalid type: map, expected a sequence"),
            (
                r#""q\"\u00e9""#,
                r#"invalid type: string "q\"é", expected a sequence"#,
            ),
        ] {
            let error = from_slice::<Vec<Cow<str>>>(text.as_bytes()).unwrap_err();
            assert_eq!(describe(text.as_bytes(), &error), message);
        }
    }

    #[test]
    fn syntax_errors_are_worded_by_serde_json() {
        let error = |text: &[u8]| {
            let error = from_slice::<Vec<Cow<str>>>(text).unwrap_err();
            describe(text, &error)
        };
        assert_eq!(
            error(b"[\"a\","),
            "[1]: EOF while parsing a value at line 1 column 5"
        );
        assert_eq!(
            error(b"[\"a\"\n  x]"),
            "[0]: expected `,` or `]` at line 2 column 3"
        );
        assert_eq!(error(b"[] 1"), "trailing characters at line 1 column 4");
        // Strings that are read are checked as serde_json checks them.
        assert_eq!(error(br#"["\ud800"]"#), "[0]: unexpected end of hex escape");
        assert_eq!(error(b"[\"\xff\"]"), "[0]: invalid unicode code point");
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let strings: Vec<Cow<str>> =
            from_slice(br#"["plain text longer than eight bytes", "\u00e9\n", ""]"#).unwrap();
        assert!(matches!(
            strings[0],
            Cow::Borrowed("plain text longer than eight bytes")
        ));
        assert!(matches!(&strings[1], Cow::Owned(text) if text == "é\n"));
        assert!(matches!(strings[2], Cow::Borrowed("")));
    }

    proptest! {
        /// Strings read with escapes decode as serde_json decodes them, or fail with its words.
        #[test]
        fn strings_decode_as_serde_json_decodes_them(
            pieces in prop::collection::vec(prop::sample::select(vec![
                "a", "é", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                "\\u0041", "\\u00e9", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "\\ud800x",
                "\\uD800\\u0041", "\u{1f600}",
            ]), 0..8),
            invalid_utf8 in any::<bool>(),
        ) {
            let mut literal = format!("\"{}\"", pieces.concat()).into_bytes();
            if invalid_utf8 {
                literal.insert(1, 0xff);
            }
            let ours = from_slice::<Cow<str>>(&literal).map_err(|e| describe(&literal, &e));
            let serde = serde_json::from_slice::<String>(&literal).map_err(|e| {
                e.to_string().split(" at line ").next().unwrap_or_default().to_string()
            });
            prop_assert_eq!(ours.map(Cow::into_owned), serde, "{}", String::from_utf8_lossy(&literal));
        }
    }

    /// JSON-like text from pieces that JSON is made of, valid or not.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "\"",
            "\"k\"",
            "\"a b\"",
            "\\",
            "\\\"",
            "\\u00e9",
            "\\u12",
            "\\x",
            "0",
            "-",
            "12",
            ".5",
            "e3",
            "E-2",
            "true",
            "fals",
            "null",
            "\u{1}",
            "é",
            "\"\\ud800\"",
            "plain text",
            "\u{1f}",
        ]);
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat().into_bytes())
    }

    /// The JSON text serde_json writes (with whitespace) for a value.
    fn json_text() -> impl Strategy<Value = Vec<u8>> {
        json_value().prop_map(|value| serde_json::to_vec_pretty(&value).unwrap())
    }

    /// Any JSON value, numbers of every kind included.
    pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn skips_exactly_what_serde_json_accepts(text in jsonish()) {
            let ours = skipped(&text);
            let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&text);
            prop_assert_eq!(ours.is_ok(), serde.is_ok(), "{}", String::from_utf8_lossy(&text));
            // Refused in serde_json's words, at its line and column.
            if let (Err(ours), Err(serde)) = (ours, serde) {
                prop_assert_eq!(describe(&text, &ours), json_path::describe(&text, &serde));
            }
        }

        /// An object's own keys are noted where their values are written; a key written twice,
        /// any key with escapes, or a noted key's string value with escapes, leaves the object
        /// to be read whole.
        #[test]
        fn notes_where_the_values_of_keys_are_written(
            entries in prop::collection::vec(
                (prop::sample::select(vec!["a", "b", "c"]), json_value()),
                0..5,
            ),
            escape_c in any::<bool>(),
        ) {
            let key = |key: &str| match key {
                "c" if escape_c => r#""\u0063""#.to_string(),
                key => format!("{key:?}"),
            };
            let members: Vec<String> = entries
                .iter()
                .map(|(k, value)| format!("{}: {}", key(k), serde_json::to_string(value).unwrap()))
                .collect();
            let text = format!(" {{ {} }} ", members.join(" , "));
            let mut reader = Reader::new(text.as_bytes());
            let (raw, notes) = reader.raw_noting([b"a", b"b"]).unwrap();
            prop_assert_eq!(raw, text.trim().as_bytes());
            let count = |k: &str| entries.iter().filter(|(key, _)| *key == k).count();
            let escaped_string = |k: &str| entries.iter().any(|(key, value)| {
                *key == k && value.is_string() && serde_json::to_string(value).unwrap().contains('\\')
            });
            let read_whole = count("a") > 1
                || count("b") > 1
                || (escape_c && count("c") > 0)
                || escaped_string("a")
                || escaped_string("b");
            prop_assert_eq!(notes.is_none(), read_whole);
            for (noted, name) in notes.iter().flatten().zip(["a", "b"]) {
                let written = entries
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| serde_json::to_string(value).unwrap());
                prop_assert_eq!(noted.clone().map(|range| &raw[range]), written.as_deref().map(str::as_bytes));
            }
        }

        #[test]
        fn skips_valid_json_and_finds_the_error_serde_json_finds(
            text in json_text(),
            cut in any::<prop::sample::Index>(),
        ) {
            prop_assert_eq!(skipped(&text), Ok(()));
            // Cut short, the text is not JSON (or a shorter number): both readers agree.
            let short = &text[..cut.index(text.len())];
            prop_assert_eq!(skipped(short).is_ok(), serde_accepts(short));
            if let Err(error) = skipped(short) {
                let serde = serde_json::from_slice::<serde::de::IgnoredAny>(short).unwrap_err();
                prop_assert_eq!(describe(short, &error), json_path::describe(short, &serde));
            }
        }
    }
}
