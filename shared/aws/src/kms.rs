//! The KMS adapter of [`KeyService`].
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use cmp_app::crypto::{Context, KeyError, KeyService};

pub struct KmsKeyService {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsKeyService {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        KmsKeyService { client, key_id: key_id.into() }
    }
}

fn classify<E: std::error::Error + Send + Sync + 'static + aws_sdk_kms::error::ProvideErrorMetadata>(
    e: aws_sdk_kms::error::SdkError<E>,
) -> KeyError {
    use aws_sdk_kms::error::SdkError;
    match &e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("unknown").to_owned();
            match code.as_str() {
                "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException" => {
                    KeyError::Unavailable(code)
                }
                _ => KeyError::Refused(code),
            }
        }
        _ => KeyError::Unavailable(format!("{}", aws_sdk_kms::error::DisplayErrorContext(&e))),
    }
}

fn to_key(bytes: &[u8]) -> Result<[u8; 32], KeyError> {
    bytes.try_into().map_err(|_| KeyError::Refused("KMS returned a key that is not 256 bits".into()))
}

#[async_trait]
impl KeyService for KmsKeyService {
    async fn generate_data_key(&self, context: &Context) -> Result<([u8; 32], Vec<u8>), KeyError> {
        let mut req = self.client.generate_data_key().key_id(&self.key_id).key_spec(DataKeySpec::Aes256);
        for (k, v) in context {
            req = req.encryption_context(k, v);
        }
        let out = req.send().await.map_err(classify)?;
        let plain = out.plaintext().ok_or_else(|| KeyError::Refused("no plaintext key".into()))?;
        let wrapped = out.ciphertext_blob().ok_or_else(|| KeyError::Refused("no wrapped key".into()))?;
        Ok((to_key(plain.as_ref())?, wrapped.as_ref().to_vec()))
    }

    async fn decrypt_data_key(&self, wrapped: &[u8], context: &Context) -> Result<[u8; 32], KeyError> {
        let mut req = self.client.decrypt().key_id(&self.key_id).ciphertext_blob(Blob::new(wrapped));
        for (k, v) in context {
            req = req.encryption_context(k, v);
        }
        let out = req.send().await.map_err(classify)?;
        to_key(out.plaintext().ok_or_else(|| KeyError::Refused("no plaintext key".into()))?.as_ref())
    }
}
