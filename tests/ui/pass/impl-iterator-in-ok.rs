use retry_runtime::retry;

#[retry(max = 2, base = "1ms")]
fn evens(limit: u32) -> Result<impl Iterator<Item = u32>, String> {
    if limit == 0 {
        return Err("no numbers".to_owned());
    }
    Ok((0..limit).filter(|n| n % 2 == 0))
}

fn main() {
    let numbers: Vec<u32> = evens(7).unwrap().collect();
    assert_eq!(numbers, [0, 2, 4, 6]);
}
