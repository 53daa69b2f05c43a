//! S3 adapters: access, partner and analyst exports ([`ExportStore`]) and the imports bucket
//! ([`ImportFiles`]).
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cmp_app::error::CmpError;
use cmp_app::import::ImportFiles;
use cmp_app::rights::ExportStore;
use std::time::Duration;

fn s3_error(e: impl std::fmt::Display) -> CmpError {
    CmpError::Export(e.to_string())
}

/// S3 adapter of [`ExportStore`]: objects encrypted with the bucket's KMS key, links pre-signed.
pub struct S3Exports {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Exports {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Exports { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl ExportStore for S3Exports {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CmpError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(())
    }

    async fn link(&self, key: &str, ttl: Duration) -> Result<String, CmpError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl).map_err(s3_error)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(req.uri().to_owned())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, CmpError> {
        let mut deleted = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(k)
                        .send()
                        .await
                        .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
                    deleted += 1;
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(deleted),
            }
        }
    }
}

pub struct S3ImportFiles {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ImportFiles {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3ImportFiles { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl ImportFiles for S3ImportFiles {
    async fn head(&self, key: &str) -> Result<Option<(u64, String, DateTime<Utc>)>, CmpError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(h) => {
                let modified = h
                    .last_modified()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or_else(Utc::now);
                let etag = h.e_tag().unwrap_or_default().trim_matches('"').to_owned();
                Ok(Some((h.content_length().unwrap_or(0).max(0) as u64, etag, modified)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(&e))),
        }
    }

    async fn range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, CmpError> {
        if end <= start {
            return Ok(vec![]);
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={start}-{}", end - 1))
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        let body = out.body.collect().await.map_err(s3_error)?;
        Ok(body.into_bytes().to_vec())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CmpError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(s3_error)?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(&e))),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CmpError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(())
    }
}
