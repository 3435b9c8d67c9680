//! The protocol choice for configuration, and a decoder that dispatches to the right framer and
//! parser.

use serde::{Deserialize, Serialize};

use super::cas::{self, Cas22Frame, EcrFramer, EcrMessage};
use super::framing::{Framer, FramerOptions, FramerStats, LineFramer};
use super::generic::{self, GenericFrame};
use super::mt_sics;
use super::nci::{self, NciFramer, NciResponse};
use super::reading::{FrameError, WeightReading};
use super::toledo::{self, ToledoFramer, ToledoOptions};

/// Which wire protocol a scale speaks. Config names: `mt-sics`, `toledo`, `nci`, `cas-ecr`,
/// `cas-22`, `generic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleProtocol {
    /// Mettler Toledo MT-SICS (request/response lines).
    MtSics,
    /// Toledo continuous (STX frames with status words).
    Toledo,
    /// NCI / Weigh-Tronix / Brecknell `W<CR>` polling.
    Nci,
    /// CAS ECR ENQ/ACK/DC1 polling.
    CasEcr,
    /// CAS 22-byte continuous indicator output.
    #[serde(rename = "cas-22")]
    Cas22,
    /// Generic `ST,GS,+0001.234kg` strings (Dini, Triner, A&D, …).
    Generic,
}

impl ScaleProtocol {
    /// Every protocol, for iteration in tests and tools.
    pub const ALL: [Self; 6] = [
        Self::MtSics,
        Self::Toledo,
        Self::Nci,
        Self::CasEcr,
        Self::Cas22,
        Self::Generic,
    ];

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MtSics => "mt-sics",
            Self::Toledo => "toledo",
            Self::Nci => "nci",
            Self::CasEcr => "cas-ecr",
            Self::Cas22 => "cas-22",
            Self::Generic => "generic",
        }
    }

    /// Whether the protocol carries a hardware stability/motion flag. All supported ones do;
    /// use `StabilityRule::ConsecutiveEqual` for devices known to report it unreliably.
    pub fn has_stability_flag(self) -> bool {
        true
    }

    /// Whether the device streams frames continuously (use "latest wins" on these).
    pub fn is_continuous(self) -> bool {
        matches!(self, Self::Toledo | Self::Cas22 | Self::Generic)
    }
}

impl std::fmt::Display for ScaleProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown protocol name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scale protocol: `{0}` is not one of mt-sics, toledo, nci, cas-ecr, cas-22, generic")]
pub struct UnknownProtocol(pub String);

impl std::str::FromStr for ScaleProtocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProtocol(s.to_string()))
    }
}

/// A parsed message of any protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleMessage {
    /// MT-SICS response line.
    MtSics(mt_sics::Response),
    /// Toledo continuous frame.
    Toledo(WeightReading),
    /// NCI reply.
    Nci(NciResponse),
    /// CAS ECR message.
    CasEcr(EcrMessage),
    /// CAS 22-byte frame.
    Cas22(Cas22Frame),
    /// Generic string.
    Generic(GenericFrame),
}

impl ScaleMessage {
    /// The weight reading carried by the message, if any.
    pub fn reading(&self) -> Option<WeightReading> {
        match self {
            Self::MtSics(r) => r.reading(),
            Self::Toledo(r) => Some(r.clone()),
            Self::Nci(r) => r.reading().cloned(),
            Self::CasEcr(EcrMessage::Weight(r)) => Some(r.clone()),
            Self::CasEcr(_) => None,
            Self::Cas22(f) => Some(f.reading.clone()),
            Self::Generic(f) => Some(f.reading.clone()),
        }
    }
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecoderOptions {
    /// Shared framer options.
    pub framer: FramerOptions,
    /// Toledo only: a checksum byte follows `<CR>`.
    pub toledo_checksum: bool,
}

#[derive(Debug, Clone)]
enum AnyFramer {
    Line(LineFramer),
    Toledo(ToledoFramer),
    Nci(NciFramer),
    Ecr(EcrFramer),
}

/// Framer + parser for one configured protocol.
#[derive(Debug, Clone)]
pub struct ScaleDecoder {
    protocol: ScaleProtocol,
    framer: AnyFramer,
}

impl ScaleDecoder {
    /// A decoder for `protocol`.
    pub fn new(protocol: ScaleProtocol, options: DecoderOptions) -> Self {
        let f = options.framer;
        let framer = match protocol {
            ScaleProtocol::MtSics => AnyFramer::Line(mt_sics::framer(f)),
            ScaleProtocol::Generic => AnyFramer::Line(generic::framer(f)),
            ScaleProtocol::Cas22 => AnyFramer::Line(cas::cas22_framer(f)),
            ScaleProtocol::Toledo => AnyFramer::Toledo(ToledoFramer::new(ToledoOptions {
                framer: f,
                checksum: options.toledo_checksum,
            })),
            ScaleProtocol::Nci => AnyFramer::Nci(NciFramer::new(f)),
            ScaleProtocol::CasEcr => AnyFramer::Ecr(EcrFramer::new(f)),
        };
        Self { protocol, framer }
    }

    /// The configured protocol.
    pub fn protocol(&self) -> ScaleProtocol {
        self.protocol
    }

    /// Parses one frame of this decoder's protocol.
    pub fn parse(&self, frame: &[u8]) -> Result<ScaleMessage, FrameError> {
        parse_frame(self.protocol, frame)
    }

    /// Takes the next frame and parses it.
    pub fn next_message(&mut self) -> Option<Result<ScaleMessage, FrameError>> {
        let frame = self.next_frame()?;
        Some(self.parse(&frame))
    }

    /// Drains the backlog and returns the newest frame that carries a reading ("latest wins").
    pub fn latest_reading(&mut self) -> Option<WeightReading> {
        let mut latest = None;
        while let Some(message) = self.next_message() {
            if let Some(r) = message.ok().and_then(|m| m.reading()) {
                latest = Some(r);
            }
        }
        latest
    }

    fn inner(&mut self) -> &mut dyn Framer {
        match &mut self.framer {
            AnyFramer::Line(f) => f,
            AnyFramer::Toledo(f) => f,
            AnyFramer::Nci(f) => f,
            AnyFramer::Ecr(f) => f,
        }
    }
}

impl Framer for ScaleDecoder {
    fn push(&mut self, bytes: &[u8]) {
        self.inner().push(bytes);
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        self.inner().next_frame()
    }

    fn stats(&self) -> FramerStats {
        match &self.framer {
            AnyFramer::Line(f) => f.stats(),
            AnyFramer::Toledo(f) => f.stats(),
            AnyFramer::Nci(f) => f.stats(),
            AnyFramer::Ecr(f) => f.stats(),
        }
    }
}

/// Parses one frame of `protocol`.
pub fn parse_frame(protocol: ScaleProtocol, frame: &[u8]) -> Result<ScaleMessage, FrameError> {
    Ok(match protocol {
        ScaleProtocol::MtSics => ScaleMessage::MtSics(mt_sics::parse_response(frame)?),
        ScaleProtocol::Toledo => ScaleMessage::Toledo(toledo::parse_frame(frame)?),
        ScaleProtocol::Nci => ScaleMessage::Nci(nci::parse_frame(frame)?),
        ScaleProtocol::CasEcr => ScaleMessage::CasEcr(cas::parse_ecr_frame(frame)?),
        ScaleProtocol::Cas22 => ScaleMessage::Cas22(cas::parse_cas22_frame(frame)?),
        ScaleProtocol::Generic => ScaleMessage::Generic(generic::parse_frame(frame)?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn protocol_names_are_lowercase_kebab_in_serde_and_from_str() {
        for p in ScaleProtocol::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<ScaleProtocol>(&json).unwrap(), p);
            assert_eq!(p.name().parse::<ScaleProtocol>().unwrap(), p);
        }
        assert_eq!(
            serde_json::to_string(&ScaleProtocol::Cas22).unwrap(),
            "\"cas-22\""
        );
        assert!("mtsics".parse::<ScaleProtocol>().is_err());
    }

    #[test]
    fn a_decoder_with_backlog_yields_the_latest_reading() {
        let mut dec = ScaleDecoder::new(ScaleProtocol::Generic, DecoderOptions::default());
        dec.push(
            b"ST,GS,+0001.000kg\r\nST,GS,+0002.000kg\r\ngarbage\r\nST,GS,+0003.000kg\r\nST,GS,+00",
        );
        let r = dec.latest_reading().unwrap();
        assert_eq!(r.value, Some(Decimal::new(3000, 3)));
        assert_eq!(dec.latest_reading(), None);
    }

    #[test]
    fn a_decoder_parses_mt_sics_messages() {
        let mut dec = ScaleDecoder::new(ScaleProtocol::MtSics, DecoderOptions::default());
        dec.push(b"I4 A \"B021002593\"\r\nS S     100.00 g\r\n");
        assert!(dec.next_message().unwrap().unwrap().reading().is_none());
        let r = dec.next_message().unwrap().unwrap().reading().unwrap();
        assert_eq!(r.value, Some(Decimal::new(10000, 2)));
    }
}
