use retry_runtime::retry;

#[retry(max = 3)]
struct Client {
    url: String,
}

fn main() {
    let client = Client { url: String::new() };
    let _ = client.url;
}
