//! Reading logs: [`frames`] finds frames, [`records`] decodes them.

mod frames;
mod range_crc;
pub(crate) mod records;
