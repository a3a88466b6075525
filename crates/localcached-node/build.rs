// The addon links against no N-API symbol (src/sys.rs resolves them at load time), so it
// needs no linker flags. Only tests/napi_loading.rs does: it plays the host, so the test
// executables export their symbols to the addon they load, as node does.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic");
    }
}
