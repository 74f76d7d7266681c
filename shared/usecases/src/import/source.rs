//! What an import reads, once per pass.

use super::stream::FileSource;

/// What an import reads: bytes in memory, or a file on disk (read once per pass).
#[derive(Debug, Clone)]
pub enum ImportSource {
    Bytes(std::sync::Arc<[u8]>),
    File(std::path::PathBuf),
}

impl ImportSource {
    /// A reader from the first byte.
    pub fn open(&self) -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
        match self {
            Self::Bytes(b) => Ok(Box::new(&b[..])),
            Self::File(path) => {
                let file = std::fs::File::open(path)?;
                Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, file)))
            }
        }
    }

    /// What it is, for messages.
    pub(super) fn name(&self) -> String {
        match self {
            Self::Bytes(b) => format!("{} bytes", b.len()),
            Self::File(path) => path.display().to_string(),
        }
    }
}

impl From<&[u8]> for ImportSource {
    fn from(bytes: &[u8]) -> Self {
        Self::Bytes(bytes.into())
    }
}

impl From<&Vec<u8>> for ImportSource {
    fn from(bytes: &Vec<u8>) -> Self {
        Self::Bytes(bytes.as_slice().into())
    }
}

impl From<Vec<u8>> for ImportSource {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes.into())
    }
}

impl From<FileSource> for ImportSource {
    fn from(file: FileSource) -> Self {
        Self::File(file.0)
    }
}
