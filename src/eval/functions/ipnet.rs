//! IP network functions: `cidrhost`, `cidrnetmask`, `cidrsubnet`,
//! `cidrsubnets`. Addresses are computed as `u128` for both families, with
//! `bits` (32 or 128) saying which one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{int_arg, str_arg, Cx, FnError, R};
use crate::value::Value;

/// A parsed prefix: its network address, prefix length and address width.
struct Prefix {
    addr: u128,
    len: u32,
    bits: u32,
}

impl Prefix {
    fn parse(s: &str, i: usize) -> Result<Prefix, FnError> {
        // Host bits may be set ("10.0.5.7/16"): the prefix is the network.
        let net: IpNet = s.parse().map_err(|_| {
            FnError::arg(i, "invalid CIDR expression: expected an address and a prefix length, as in \"10.0.0.0/16\"")
        })?;
        let net = net.trunc();
        let (addr, bits) = match net.network() {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        Ok(Prefix { addr, len: u32::from(net.prefix_len()), bits })
    }

    fn host_bits(&self) -> u32 {
        self.bits - self.len
    }

    fn addr_string(&self, addr: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(addr as u32).to_string()
        } else {
            Ipv6Addr::from(addr).to_string()
        }
    }

    fn to_string_with(&self, addr: u128, len: u32) -> String {
        format!("{}/{len}", self.addr_string(addr))
    }

    /// The last address of the block `addr/len`.
    fn last(&self, addr: u128, len: u32) -> u128 {
        addr | low_mask(self.bits - len)
    }
}

/// A mask of the lowest `n` bits (n ≤ 128).
fn low_mask(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

pub(super) fn cidrhost(_: &mut Cx, a: Vec<Value>) -> R {
    let p = Prefix::parse(&str_arg(&a, 0)?, 0)?;
    let hostnum = int_arg(&a, 1)?;
    let size = low_mask(p.host_bits());
    let offset = if hostnum >= 0 {
        let h = hostnum as u128;
        (h <= size).then_some(h)
    } else {
        // Negative host numbers count back from the end of the block.
        let back = hostnum.unsigned_abs() as u128;
        (back - 1 <= size).then(|| size - (back - 1))
    };
    let offset = offset.ok_or_else(|| {
        FnError::call(format!(
            "prefix of {} bits has no host number {hostnum}: it has {} addresses",
            p.len,
            pow2(p.host_bits())
        ))
    })?;
    Ok(Value::String(p.addr_string(p.addr + offset)))
}

fn pow2(n: u32) -> String {
    if n >= 128 {
        "2^128".into()
    } else {
        (1u128 << n).to_string()
    }
}

pub(super) fn cidrnetmask(_: &mut Cx, a: Vec<Value>) -> R {
    let p = Prefix::parse(&str_arg(&a, 0)?, 0)?;
    if p.bits != 32 {
        return Err(FnError::call("only IPv4 prefixes have a netmask"));
    }
    let mask = !low_mask(p.host_bits()) as u32;
    Ok(Value::String(Ipv4Addr::from(mask).to_string()))
}

/// The `netnum`th subnet of `p` that is `newbits` longer.
fn subnet(p: &Prefix, newbits: i64, netnum: i64) -> Result<(u128, u32), FnError> {
    if newbits < 0 {
        return Err(FnError::arg(1, "newbits must not be negative"));
    }
    let len = i64::from(p.len) + newbits;
    if len > i64::from(p.bits) {
        return Err(FnError::call(format!(
            "insufficient address space to extend prefix of {} by {newbits}: the result would be {len} bits long, more than the {} of the address",
            p.len, p.bits
        )));
    }
    let len = len as u32;
    if netnum < 0 || (netnum as u128) > low_mask(len - p.len) {
        return Err(FnError::call(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"
        )));
    }
    let shift = p.bits - len;
    let addr = if shift >= 128 { p.addr } else { p.addr | ((netnum as u128) << shift) };
    Ok((addr, len))
}

pub(super) fn cidrsubnet(_: &mut Cx, a: Vec<Value>) -> R {
    let p = Prefix::parse(&str_arg(&a, 0)?, 0)?;
    let (addr, len) = subnet(&p, int_arg(&a, 1)?, int_arg(&a, 2)?)?;
    Ok(Value::String(p.to_string_with(addr, len)))
}

/// Consecutive subnets of the given sizes, each aligned to its own size and
/// placed after the previous one, as Terraform allocates them.
pub(super) fn cidrsubnets(_: &mut Cx, a: Vec<Value>) -> R {
    let p = Prefix::parse(&str_arg(&a, 0)?, 0)?;
    let mut out = Vec::new();
    let mut current: Option<(u128, u32)> = None;
    for i in 1..a.len() {
        let newbits = int_arg(&a, i)?;
        if newbits < 1 {
            return Err(FnError::arg(i, "must extend the prefix by at least one bit"));
        }
        let len = i64::from(p.len) + newbits;
        if len > i64::from(p.bits) {
            return Err(FnError::arg(
                i,
                format!("would extend the prefix to {len} bits, which is too long for a {}-bit address", p.bits),
            ));
        }
        let len = len as u32;
        let next = match current {
            None => (p.addr, len),
            Some((addr, cur_len)) => {
                // The block of the new size holding the last address so far,
                // then the block right after it.
                let last = p.last(addr, cur_len);
                let start = last & !low_mask(p.bits - len);
                let end = p.last(start, len);
                let next = end.wrapping_add(1) & low_mask(p.bits);
                if next == 0 || p.last(p.addr, p.len) < next {
                    return Err(FnError::arg(
                        i,
                        format!(
                            "not enough remaining address space for a subnet with a prefix of {len} bits after {}",
                            p.to_string_with(addr, cur_len)
                        ),
                    ));
                }
                (next, len)
            }
        };
        out.push(Value::String(p.to_string_with(next.0, next.1)));
        current = Some(next);
    }
    Ok(Value::List(out))
}
