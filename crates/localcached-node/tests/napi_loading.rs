//! The addon's N-API functions are resolved at load time (src/sys.rs), not linked:
//! - the built cdylib leaves no `napi_*` symbol undefined (read from its ELF dynamic
//!   symbol table, so no tool is needed), which is what lets MSVC link it and macOS load it
//!   without `-undefined dynamic_lookup`;
//! - a host that lacks one of the listed functions gets a clear `NotSupported` error naming
//!   it from registration, not a crash. This test executable is that host: it exports (with
//!   `--export-dynamic`, see build.rs) `napi_throw_error` and `napi_get_undefined` only,
//!   loads the addon with `dlopen` and calls its `napi_register_module_v1`.
//!
//! That every listed function resolves in a real Node is shown by every test that loads the
//! addon, and by tests/napi-table.test.ts under each Node version CI runs.
#![cfg(target_os = "linux")]

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The addon, built now: `cargo test` builds no cdylib for integration tests (they cannot
/// link one), so this runs `cargo build` for this test's own profile and target directory
/// (a no-op when it is up to date) and returns `<target>/<profile>/liblocalcached_node.so`,
/// next to the `deps/` folder holding this test executable.
fn addon_path() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("current_exe");
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
            let target_dir = profile_dir.parent().expect("target dir");
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => "dev",
                Some(other) => other,
                None => panic!("no profile directory above {}", exe.display()),
            };
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--package", "localcached-node", "--profile", profile, "--target-dir"])
                .arg(target_dir)
                .arg("--manifest-path")
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
                .status()
                .expect("running cargo build");
            assert!(status.success(), "cargo build of the addon failed");
            profile_dir.join("liblocalcached_node.so")
        })
        .clone()
}

/// The names of the undefined symbols in an ELF64 little-endian shared object's `.dynsym`.
fn undefined_dynamic_symbols(elf: &[u8]) -> Vec<String> {
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!((elf[4], elf[5]), (2, 1), "expected ELF64 little-endian");
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    let section = |i: usize| shoff + i * shentsize;
    const SHT_DYNSYM: usize = 11;
    let dynsym = (0..shnum).map(section).find(|&s| u32_at(s + 4) == SHT_DYNSYM).expect("a .dynsym section");
    let (offset, size, entsize) = (u64_at(dynsym + 0x18), u64_at(dynsym + 0x20), u64_at(dynsym + 0x38));
    let strtab = u64_at(section(u32_at(dynsym + 0x28)) + 0x18);
    let mut undefined = Vec::new();
    for sym in (offset..offset + size).step_by(entsize) {
        let (name, shndx) = (u32_at(sym), u16_at(sym + 6));
        if shndx == 0 && name != 0 {
            let name = CStr::from_bytes_until_nul(&elf[strtab + name..]).expect("a NUL-terminated name");
            undefined.push(name.to_string_lossy().into_owned());
        }
    }
    undefined
}

#[test]
fn the_addon_leaves_no_napi_symbol_undefined() {
    let elf = std::fs::read(addon_path()).unwrap();
    let undefined = undefined_dynamic_symbols(&elf);
    // The reader works: the addon does import from libc, dlsym among it.
    assert!(undefined.iter().any(|s| s == "dlsym"), "expected dlsym among {undefined:?}");
    let napi: Vec<_> = undefined.iter().filter(|s| s.starts_with("napi_") || s.starts_with("node_api_")).collect();
    assert!(napi.is_empty(), "N-API symbols left for the linker to resolve: {napi:?}");
}

/// The names in sys.rs's `napi_functions!` list, in order.
fn listed_functions() -> Vec<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/sys.rs")).unwrap();
    let list = source.split("\nnapi_functions! {\n").nth(1).expect("the napi_functions! invocation");
    let list = &list[..list.find("\n}\n").expect("its closing brace")];
    list.lines().filter_map(|l| l.trim().strip_prefix("fn ")?.split('(').next().map(str::to_string)).collect()
}

static THROWN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The host's `napi_throw_error`: records what the addon throws.
#[no_mangle]
pub extern "C" fn napi_throw_error(_env: *mut c_void, code: *const c_char, msg: *const c_char) -> c_int {
    // SAFETY: the addon passes NUL-terminated strings.
    let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    THROWN.lock().unwrap().push((text(code), text(msg)));
    0
}

/// A stand-in for the host's `napi_get_undefined`, so the first missing function is the
/// second in the list: the error must name the one missing, not the first listed.
#[no_mangle]
pub extern "C" fn napi_get_undefined(_env: *mut c_void, _result: *mut *mut c_void) -> c_int {
    9
}

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;

#[test]
fn registration_in_a_host_without_a_function_throws_naming_it() {
    let listed = listed_functions();
    assert!(listed.len() > 20 && listed[0] == "napi_get_undefined", "parsed {listed:?}");
    let path = CString::new(addon_path().to_str().unwrap()).unwrap();
    // SAFETY: loading the addon runs no code of ours at load (no constructors); the flags
    // are dlopen's.
    let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
    // SAFETY: dlerror returns a NUL-terminated message after a failed dlopen.
    assert!(!handle.is_null(), "dlopen: {:?}", unsafe { CStr::from_ptr(dlerror()) });
    // SAFETY: a handle dlopen returned and a NUL-terminated name.
    let register = unsafe { dlsym(handle, c"napi_register_module_v1".as_ptr()) };
    assert!(!register.is_null());
    type Register = unsafe extern "C" fn(*mut c_void, *mut c_void) -> *mut c_void;
    // SAFETY: the addon's entry point has this signature (napi_env, napi_value) -> napi_value.
    let register = unsafe { std::mem::transmute::<*mut c_void, Register>(register) };
    // SAFETY: registration fails before it touches env or exports (the table cannot be
    // filled here), and calls only our napi_throw_error, which ignores the env.
    let exports = unsafe { register(std::ptr::null_mut(), 0x10 as *mut c_void) };
    assert!(exports.is_null(), "registration must fail");
    let thrown = THROWN.lock().unwrap().clone();
    assert_eq!(thrown.len(), 1, "{thrown:?}");
    let (code, message) = &thrown[0];
    assert_eq!(code, "NotSupported");
    assert!(message.contains(&format!("N-API function {} ", listed[1])), "{message}");
    assert!(message.contains("Node.js 20 or later"), "{message}");
}
