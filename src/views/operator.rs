//! The operator's session as the pages see it: whether this browser is signed in, and one
//! sign-in form shared by every page with operator actions (`/scores`, `/jobs`).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::operator::{operator_status, SignIn, SignOut};

/// Provided at the app root, so a sign-in on one page counts on the others without a reload.
#[derive(Clone, Copy)]
pub struct Operator {
    /// `None` until the browser has asked (the server-rendered page does not know who reads it).
    pub signed_in: RwSignal<Option<bool>>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
}

impl Operator {
    pub fn provide() -> Operator {
        let op = Operator {
            signed_in: RwSignal::new(None),
            sign_in: ServerAction::<SignIn>::new(),
            sign_out: ServerAction::<SignOut>::new(),
        };
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| {
            spawn_local(async move {
                if let Ok(yes) = operator_status().await {
                    op.signed_in.set(Some(yes));
                }
            });
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = op.sign_in.value().get() {
                op.signed_in.set(Some(true));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = op.sign_out.value().get() {
                op.signed_in.set(Some(false));
            }
        });
        provide_context(op);
        op
    }

    pub fn get() -> Operator {
        expect_context::<Operator>()
    }

    pub fn is_signed_in(&self) -> bool {
        self.signed_in.get() == Some(true)
    }

    /// A refused action said the session is gone (expired, signed out elsewhere).
    pub fn lost(&self) {
        self.signed_in.set(Some(false));
    }
}

/// "Signed in" with a sign-out button, or the sign-in form. `can` finishes the sentence
/// "Sign in with the operator password to …".
#[component]
pub fn OperatorSignIn(can: &'static str) -> AnyView {
    let op = Operator::get();
    let sign_in_error = move || {
        op.sign_in
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <p class="muted" data-testid="operator-session" aria-live="polite">
            {move || match op.signed_in.get() {
                Some(true) => "You are signed in as operator.".to_owned(),
                Some(false) => format!("Sign in with the operator password to {can}."),
                None => String::new(),
            }}
        </p>
        <Show
            when=move || op.is_signed_in()
            fallback=move || {
                view! {
                    <ActionForm action=op.sign_in attr:class="form-row" attr:data-testid="sign-in">
                        // Password managers file the password under a user name; this one has
                        // no `name`, so it is not sent.
                        <input
                            type="text"
                            class="sr-only"
                            autocomplete="username"
                            value="operator"
                            tabindex="-1"
                            aria-hidden="true"
                            readonly
                        />
                        <label>
                            "Password "
                            <input type="password" name="secret" autocomplete="current-password" required/>
                        </label>
                        <button type="submit">"Sign in"</button>
                    </ActionForm>
                    <p class="form-error" role="alert" data-testid="sign-in-error">{sign_in_error}</p>
                }
            }
        >
            <ActionForm action=op.sign_out attr:class="form-row">
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </Show>
    }
    .into_any()
}
