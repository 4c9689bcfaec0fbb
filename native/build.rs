//! Compiles Orrery's etcd-compatible .proto files with protox (pure Rust, no protoc) and
//! generates the tonic services.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(
        ["etcdserverpb/rpc.proto", "orrerypeerpb/peer.proto"],
        ["proto"],
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Keys and values travel as `bytes::Bytes`, as in the core: no copies.
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
