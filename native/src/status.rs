//! etcd errors as gRPC statuses: the message text and code clients match on (etcd
//! `rpctypes/error.go`). The strings themselves live in `orrery_core::error`, once.

use orrery_core::EtcdError;

/// The gRPC status etcd answers with for `e`.
pub fn status(e: EtcdError) -> tonic::Status {
    tonic::Status::new(tonic::Code::from(e.code() as i32), e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_etcd_error_keeps_its_message_and_code() {
        for &e in EtcdError::ALL {
            let s = status(e);
            assert_eq!(s.message(), e.message());
            assert_eq!(s.code() as i32, e.code() as i32, "{e:?}");
        }
        let s = status(EtcdError::Compacted);
        assert_eq!(s.code(), tonic::Code::OutOfRange);
        assert_eq!(
            s.message(),
            "etcdserver: mvcc: required revision has been compacted"
        );
    }
}
