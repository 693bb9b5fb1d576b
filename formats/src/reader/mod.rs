//! Reading logs: [`frames`] finds frames, [`records`] decodes them.

mod frames;
pub(crate) mod records;
