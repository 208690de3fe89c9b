//! Foundation: heartbeat, password authentication, credential headers, member API, limits.

use crate::support::*;

#[test]
fn heartbeat_needs_no_credentials() {
    let s = TestServer::start();
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!(r.text(), "OK");
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
}
