//! The exit codes of `einklang`, documented in the README: a script or a
//! monitor can tell a clean run from one that needs a look.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | succeeded (for `sync`: the run's status is `succeeded`; for `doctor`: nothing wrong, or all of it repaired) |
//! | 1 | failed: the run failed, or an error stopped the command; for `doctor`: problems remain (found, not repaired, or a connector's links could not be checked) |
//! | 2 | the config or the command line is wrong, or asks for what is not there (nothing ran) |
//! | 3 | `partial`: the run finished, but records were quarantined, a step or writes failed |
//! | 4 | `needs_review`: a guard held deletes or a conflict waits for a person |
//! | 5 | busy: another run holds the job (or an entity, a connector it needs) |

use einklang_store::RunStatus;
use std::process::ExitCode;

/// Failed run or command.
pub const FAILED: u8 = 1;
/// Config or usage error.
pub const USAGE: u8 = 2;
/// Partial success.
pub const PARTIAL: u8 = 3;
/// A person must look.
pub const NEEDS_REVIEW: u8 = 4;
/// Another run holds what this one needs.
pub const BUSY: u8 = 5;

/// The exit code of a finished run's status.
pub fn of_status(status: RunStatus) -> ExitCode {
    match status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::Partial => ExitCode::from(PARTIAL),
        RunStatus::NeedsReview => ExitCode::from(NEEDS_REVIEW),
        RunStatus::Failed | RunStatus::Queued | RunStatus::Running | RunStatus::Abandoned => {
            ExitCode::from(FAILED)
        }
    }
}

/// A config the command could not use: every problem was printed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigProblems(pub String);

/// The user asked for something that is not there or not allowed (an
/// unknown conflict, a value the schema rejects): nothing ran.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The exit code of an error that stopped a command.
pub fn of_error(e: &anyhow::Error) -> ExitCode {
    for cause in e.chain() {
        if cause.downcast_ref::<ConfigProblems>().is_some()
            || cause.downcast_ref::<Usage>().is_some()
        {
            return ExitCode::from(USAGE);
        }
        if let Some(einklang_store::StoreError::Refused(_)) = cause.downcast_ref() {
            return ExitCode::from(USAGE);
        }
        match cause.downcast_ref() {
            Some(einklang_engine::EngineError::Busy { .. }) => return ExitCode::from(BUSY),
            Some(einklang_engine::EngineError::UnknownJob(_)) => return ExitCode::from(USAGE),
            _ => {}
        }
        use einklang_engine::{EngineError, ResolveError};
        match cause.downcast_ref() {
            Some(ResolveError::Engine(EngineError::Busy { .. })) => return ExitCode::from(BUSY),
            Some(
                ResolveError::Unknown(_)
                | ResolveError::NotOpen(..)
                | ResolveError::NoSuchSide { .. },
            ) => return ExitCode::from(USAGE),
            _ => {}
        }
    }
    ExitCode::from(FAILED)
}
