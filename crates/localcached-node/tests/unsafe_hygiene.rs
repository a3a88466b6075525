//! Checks, file by file, that every `unsafe` in this crate's `src/` is justified where it
//! stands: each `unsafe` block and `unsafe impl` has a `// SAFETY:` comment in the comment
//! lines just above it (attributes and blank lines may come between), each `unsafe fn` has
//! a `# Safety` section in its doc comment, and the crate root denies unsafe operations
//! outside `unsafe` blocks. The source is lexed first, so the word in a comment, a string
//! or a character literal is never taken for the keyword.

use std::fs;
use std::path::{Path, PathBuf};

/// One source line split by the lexer: its code, with comments removed and literal contents
/// blanked (quotes kept), and the text of the comments on it.
#[derive(Default, Debug)]
struct Line {
    code: String,
    comment: String,
}

enum State {
    Code,
    LineComment,
    BlockComment(usize),
    Str,
    RawStr(usize),
}

/// Splits Rust source into lines of code and comment text. Handles nested block comments,
/// escapes, raw strings (`r#"…"#`, also `br`/`cr`), and tells char literals from lifetimes.
fn lex(source: &str) -> Vec<Line> {
    let chars: Vec<char> = source.chars().collect();
    let mut lines = vec![Line::default()];
    let mut state = State::Code;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            lines.push(Line::default());
            if matches!(state, State::LineComment) {
                state = State::Code;
            }
            i += 1;
            continue;
        }
        let line = lines.last_mut().unwrap();
        match state {
            State::Code => {
                if c == '/' && next == Some('/') {
                    state = State::LineComment;
                    line.comment.push_str("//");
                    i += 2;
                } else if c == '/' && next == Some('*') {
                    state = State::BlockComment(1);
                    line.comment.push_str("/*");
                    i += 2;
                } else if c == '"' {
                    state = State::Str;
                    line.code.push('"');
                    i += 1;
                } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
                    let mut j = i + 1;
                    while chars.get(j) == Some(&'#') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'"') {
                        state = State::RawStr(j - i - 1);
                        line.code.push('"');
                        i = j + 1;
                    } else {
                        line.code.push(c);
                        i += 1;
                    }
                } else if c == '\'' {
                    // A char literal is `'x'` or `'\…'`; anything else is a lifetime or label.
                    if next == Some('\\') {
                        let mut j = i + 2;
                        while j < chars.len() && chars[j] != '\'' {
                            j += 1;
                        }
                        line.code.push_str("' '");
                        i = j + 1;
                    } else if chars.get(i + 2) == Some(&'\'') {
                        line.code.push_str("' '");
                        i += 3;
                    } else {
                        line.code.push(c);
                        i += 1;
                    }
                } else {
                    line.code.push(c);
                    i += 1;
                }
            }
            State::LineComment => {
                line.comment.push(c);
                i += 1;
            }
            State::BlockComment(depth) => {
                if c == '*' && next == Some('/') {
                    line.comment.push_str("*/");
                    state = if depth == 1 { State::Code } else { State::BlockComment(depth - 1) };
                    i += 2;
                } else if c == '/' && next == Some('*') {
                    line.comment.push_str("/*");
                    state = State::BlockComment(depth + 1);
                    i += 2;
                } else {
                    line.comment.push(c);
                    i += 1;
                }
            }
            State::Str => {
                if c == '\\' {
                    // Skip the escaped character, unless it is the line break of a
                    // continuation, which the next iteration must count.
                    i += if next == Some('\n') { 1 } else { 2 };
                } else if c == '"' {
                    line.code.push('"');
                    state = State::Code;
                    i += 1;
                } else {
                    i += 1;
                }
            }
            State::RawStr(hashes) => {
                if c == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    line.code.push('"');
                    state = State::Code;
                    i += 1 + hashes;
                } else {
                    i += 1;
                }
            }
        }
    }
    lines
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether the character before `i` continues an identifier (so `r"` is not a raw string
/// opening but, say, the end of `for"`; `br"` and `cr"` still open raw strings).
fn ident_before(chars: &[char], i: usize) -> bool {
    match i.checked_sub(1).map(|p| chars[p]) {
        Some('b') | Some('c') => i >= 2 && is_ident(chars[i - 2]),
        Some(p) => is_ident(p),
        None => false,
    }
}

/// The tokens of the code after position `col` of line `index`, across following lines:
/// identifiers and single punctuation characters.
fn tokens_after(lines: &[Line], index: usize, col: usize, want: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut text: String = lines[index].code[col..].to_string();
    let mut next_line = index + 1;
    loop {
        let chars: Vec<char> = text.chars().collect();
        let mut j = 0;
        while j < chars.len() && out.len() < want {
            if chars[j].is_whitespace() {
                j += 1;
            } else if is_ident(chars[j]) {
                let start = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                out.push(chars[start..j].iter().collect());
            } else {
                out.push(chars[j].to_string());
                j += 1;
            }
        }
        if out.len() >= want || next_line >= lines.len() {
            return out;
        }
        text = lines[next_line].code.clone();
        next_line += 1;
    }
}

enum Use {
    /// `unsafe fn(…)` or `unsafe extern "C" fn(…)` as a type: nothing to justify.
    FnPointerType,
    Block,
    Impl,
    Fn,
    Trait,
}

/// Classifies the `unsafe` keyword from the tokens that follow it.
fn classify(tokens: &[String]) -> Use {
    let mut t = tokens.iter().map(String::as_str);
    match t.next() {
        Some("impl") => Use::Impl,
        Some("fn") => function(t.next()),
        Some("trait") => Use::Trait,
        // `unsafe extern "C" fn` is a function; `unsafe extern "C" { … }` a block of
        // declarations, held to the same rule as a block.
        Some("extern") => match t.find(|s| *s != "\"") {
            Some("fn") => function(t.next()),
            _ => Use::Block,
        },
        _ => Use::Block,
    }
}

/// A named `fn` is a definition; `fn(` is a function-pointer type.
fn function(after_fn: Option<&str>) -> Use {
    if after_fn == Some("(") {
        Use::FnPointerType
    } else {
        Use::Fn
    }
}

fn is_attribute_or_blank(line: &Line) -> bool {
    let code = line.code.trim();
    line.comment.trim().is_empty() && (code.is_empty() || code.starts_with("#[") || code.starts_with("#!["))
}

/// The comment lines just above line `index`: attribute and blank lines are skipped, then
/// every consecutive line holding only a comment is gathered (attributes may sit among
/// doc comments).
fn comments_above(lines: &[Line], index: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut k = index;
    while k > 0 {
        k -= 1;
        let line = &lines[k];
        let code = line.code.trim();
        if code.is_empty() && !line.comment.trim().is_empty() {
            out.push(line.comment.as_str());
        } else if is_attribute_or_blank(line) {
            continue;
        } else {
            break;
        }
    }
    out
}

/// Every `unsafe` that lacks its justification in `source`, as `line: problem`.
fn problems(source: &str) -> Vec<String> {
    let lines = lex(source);
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.code.chars().collect();
        let word: Vec<char> = "unsafe".chars().collect();
        let mut col = 0;
        while col + word.len() <= chars.len() {
            let at_word = chars[col..col + word.len()] == word[..]
                && (col == 0 || !is_ident(chars[col - 1]))
                && chars.get(col + word.len()).is_none_or(|&c| !is_ident(c));
            if !at_word {
                col += 1;
                continue;
            }
            let byte_after: usize = chars[..col + word.len()].iter().map(|c| c.len_utf8()).sum();
            let above = comments_above(&lines, index);
            let number = index + 1;
            match classify(&tokens_after(&lines, index, byte_after, 6)) {
                kind @ (Use::Block | Use::Impl) => {
                    if !above.iter().any(|c| c.trim_start().starts_with("// SAFETY:")) {
                        let what = if matches!(kind, Use::Impl) { "unsafe impl" } else { "unsafe block" };
                        found.push(format!("{number}: {what} without a `// SAFETY:` comment just above it"));
                    }
                }
                Use::FnPointerType => {}
                Use::Fn | Use::Trait => {
                    let doc = above.iter().filter(|c| c.trim_start().starts_with("///"));
                    if !doc.clone().any(|c| c.trim_start().trim_start_matches('/').trim() == "# Safety") {
                        found.push(format!("{number}: unsafe fn without a `# Safety` section in its doc comment"));
                    }
                }
            }
            col += word.len();
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_unsafe_in_src_is_justified() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    assert!(files.len() > 5, "expected the crate's sources under {}", src_dir().display());
    let mut all = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string();
        all.extend(problems(&source).into_iter().map(|p| format!("{shown}:{p}")));
    }
    assert!(all.is_empty(), "unjustified unsafe:\n{}", all.join("\n"));
}

#[test]
fn crate_root_denies_unsafe_ops_in_unsafe_fns() {
    let source = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let denied = lex(&source).iter().any(|l| l.code.split_whitespace().collect::<String>() == "#![deny(unsafe_op_in_unsafe_fn)]");
    assert!(denied, "src/lib.rs must contain #![deny(unsafe_op_in_unsafe_fn)]");
}

#[test]
fn the_checker_sees_only_real_keywords() {
    let ok = r##"
        // SAFETY: justified.
        let a = unsafe { f() };
        // SAFETY: across an attribute and a blank line.
        #[allow(unused)]

        unsafe impl Send for X {}
        /// Does a thing.
        ///
        /// # Safety
        /// The caller checks.
        #[no_mangle]
        pub unsafe extern "C" fn g() {}
        /// # Safety
        /// Likewise.
        unsafe fn h() {}
        let s = "unsafe { not code }";
        let r = r#"unsafe { " still not code }"#;
        let c = '"'; let d = '\''; fn l<'a>(x: &'a str) {}
        // unsafe { in a comment }
        /* unsafe { in a block /* nested */ comment } */
        let not_a_keyword = unsafe_thing();
        // SAFETY: the comment may run
        // over several lines.
        let b = unsafe { f() };
        type Callback = unsafe extern "C" fn(i32) -> i32;
        fn takes(callback: Option<unsafe fn()>) {}
    "##;
    assert_eq!(problems(ok), Vec::<String>::new());

    let bad = r#"
        let a = unsafe { f() };
        // A comment that justifies nothing.
        unsafe impl Send for X {}
        // SAFETY: code between the comment and the block breaks the link.
        let x = 1;
        let b = unsafe { f() };
        /// No safety section.
        unsafe fn h() {}
        // SAFETY: a plain comment is not a doc section.
        unsafe extern "C" fn g() {}
        let s = "ends here"; let t = unsafe { f() };
        // SAFETY: the comment must sit right above the line with the block.
        let b =
            unsafe { f() };
    "#;
    let found = problems(bad);
    let lines: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["2", "4", "7", "9", "11", "12", "15"], "{found:#?}");
}
