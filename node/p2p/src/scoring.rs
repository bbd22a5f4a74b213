//! Gossipsub peer scoring for a small permissioned network.
//!
//! The one thing scored down is what a peer itself sends that the node
//! rejects ([`crate::Verdict::Reject`]: malformed, badly signed, wrong topic).
//! With validation on, no honest node forwards such a message, so the peer
//! that handed it over is the one that made it or a faulty relay. One such
//! message takes a peer below the graylist threshold for about two seconds
//! (its messages are then not even read); a steady flow keeps it there, and
//! it loses its mesh place, while honest peers are never scored down for
//! what others sent.
//!
//! What is not scored, on purpose: delivery rates (a quiet topic, such as
//! transactions at night, must not make honest peers look lazy) and IP
//! colocation (a localnet runs every node on one address; peers are
//! allow-listed by key anyway).

use libp2p::gossipsub::{IdentTopic, PeerScoreParams, PeerScoreThresholds, TopicScoreParams};
use std::time::Duration;

/// Score weight of a rejected message, per message squared (P4).
pub const REJECTED_MESSAGE_WEIGHT: f64 = -100.0;
/// Share of a rejected-message count kept after each decay interval (1 s).
pub const REJECTED_MESSAGE_DECAY: f64 = 0.9;
/// Highest positive score a topic can give, so that no good record can
/// buy room for junk: one rejected message still graylists.
pub const TOPIC_SCORE_CAP: f64 = 10.0;

fn topic_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.1,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 50.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: REJECTED_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: REJECTED_MESSAGE_DECAY,
        ..TopicScoreParams::default()
    }
}

/// The parameters and thresholds the network runs with.
pub fn params() -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams {
        topic_score_cap: TOPIC_SCORE_CAP,
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    };
    for topic in crate::Topic::all() {
        params
            .topics
            .insert(IdentTopic::new(topic.name()).hash(), topic_params());
    }
    (params, PeerScoreThresholds::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_accepted_and_one_rejected_message_graylists() {
        let (params, thresholds) = params();
        assert!(params.validate().is_ok());
        assert!(thresholds.validate().is_ok());
        // The best a topic can give, less one rejected message, is under the graylist.
        assert!(TOPIC_SCORE_CAP + REJECTED_MESSAGE_WEIGHT < thresholds.graylist_threshold);
        // After two decay intervals a single rejection no longer graylists.
        let count = REJECTED_MESSAGE_DECAY * REJECTED_MESSAGE_DECAY;
        assert!(REJECTED_MESSAGE_WEIGHT * count * count > thresholds.graylist_threshold);
    }
}
