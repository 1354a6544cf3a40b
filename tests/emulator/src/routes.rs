//! The URL map of the emulator.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::Shared;
use crate::{activeconnect as ac, control, pages, projectinsight as pi, signins};

/// Every route, with the shared state attached.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(pages::index))
        // Activeconnect Management API
        .route("/management/add_users/{app}", post(ac::add_users))
        .route("/management/delete_users/{app}", post(ac::delete_users))
        .route("/management/device_registration_link/{app}/{user}", get(ac::device_registration_link))
        .route("/management/has_registered_mobile_device/{app}/{user}", get(ac::has_registered_mobile_device))
        .route("/management/lost_user_mobile_device/{app}/{user}", get(ac::lost_user_mobile_device))
        .route("/management/send_registration_sms/{app}/{user}", post(ac::send_registration_sms))
        // Activeconnect Authentication API
        .route("/authentication/authenticate_user/{app}/{user}", post(ac::authenticate_user))
        .route("/authentication/session_status/{token}", get(ac::session_status))
        .route("/authentication/logout/{token}", post(ac::logout))
        // Project Insight
        .route("/api/device-activation/create-request", post(pi::create_request))
        .route("/api/device-activation/complete-request", get(pi::complete_request))
        .route("/api/project/active", get(pi::project_active))
        // Control API
        .route("/_emulator/apps", post(control::create_app).get(control::list_apps))
        .route("/_emulator/apps/{app}/users", get(control::list_users))
        .route("/_emulator/apps/{app}/secret", post(control::rotate_secret))
        .route("/_emulator/apps/{app}/users/{user}/device", post(control::register_device))
        .route("/_emulator/apps/{app}/sessions", get(control::list_sessions))
        .route("/_emulator/apps/{app}/sms", get(control::list_sms))
        .route("/_emulator/apps/{app}/sign-ins", get(signins::list_sign_ins))
        .route("/_emulator/register", post(signins::register_from_link))
        .route("/_emulator/sessions/{token}/status", post(signins::set_status))
        .route("/_emulator/sessions/{token}/{action}", post(control::session_action))
        .route("/_emulator/activations/{id}", get(control::activation_code))
        .route("/_emulator/activations/{id}/expire", post(control::expire_activation))
        .route("/_emulator/faults", post(control::add_fault).get(control::list_faults).delete(control::clear_faults))
        .route("/_emulator/requests", get(control::list_requests).delete(control::clear_requests))
        .route("/_emulator/stats", get(control::stats))
        // Browser pages
        .route("/_emulator/phone/{reg}", get(pages::phone))
        .route("/_emulator/phone/{reg}/state", get(pages::phone_state))
        .route("/_emulator/phone/{reg}/register", post(pages::phone_register))
        .route("/_emulator/phone/{reg}/sessions/{token}/{action}", post(pages::phone_action))
        .route("/_emulator/activate/{id}", get(pages::activate_form).post(pages::activate_submit))
        .with_state(shared)
}
