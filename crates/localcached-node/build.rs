// N-API symbols live in the node executable that loads us. Linux shared objects may leave
// symbols undefined by default; macOS must be told to look them up at load time.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }
}
