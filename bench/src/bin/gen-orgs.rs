//! Writes an import file of N generated organisations (made from the demo ones).
//! Usage: gen-orgs N > file.json

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let (reference, _) = directory_tests::contract::demo();
    let file = directory_domain::model::ImportFile {
        reference,
        organisations: directory_tests::generated_organisations(n),
    };
    serde_json::to_writer(std::io::stdout().lock(), &file).expect("write");
}
