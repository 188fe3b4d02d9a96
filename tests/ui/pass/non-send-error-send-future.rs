use std::rc::Rc;

use retry_runtime::retry;

#[derive(Debug)]
struct LocalError(#[allow(dead_code)] Rc<String>);

#[retry(max = 3, base = "1ms")]
async fn fetch(fail: bool) -> Result<u32, LocalError> {
    if fail { Err(LocalError(Rc::new("down".to_owned()))) } else { Ok(1) }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let future = fetch(false);
    assert_send(&future);
    drop(future);
}
