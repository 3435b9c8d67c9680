//! What a system test does when a real part it needs (Mosquitto, Chromium, Node.js) is missing:
//! on a developer's machine it says so and skips; under `CI=true` it fails, so a CI run that
//! lacks a part never passes without having tested anything.

/// Says the test skips because `why` is missing (the caller then returns); panics under `CI=true`.
pub fn skip_because(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and a real part this test needs is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
}
