//! Reading logs: [`frames`] finds frames, [`records`] decodes them,
//! [`in_order`] puts them in sequence order.

mod frames;
pub(crate) mod in_order;
mod range_crc;
pub(crate) mod records;
