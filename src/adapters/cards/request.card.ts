/**
 * The request card: the roles the requester may ask for, and for the chosen role how long, why and (when the
 * policy wants one) which ticket. With no role chosen yet it asks for the role first, so the duration choices
 * and the required fields can follow that role's policy.
 */
import type { CatalogRole, RoleRef } from '../../domain/catalog/catalog.model';
import { CardInputIds, CardVerbs } from './card-verbs';
import { durationChoices, preselectedDuration, renderCard, type CardJson } from './card-template';
import template from './templates/request.card.json';

/** One role the requester is eligible for (the caller filters the catalog with `isEligible`). */
export interface RequestCardRole {
  readonly appName: string;
  readonly role: Pick<
    CatalogRole,
    'ref' | 'name' | 'description' | 'duration' | 'justification' | 'ticketReference'
  >;
}

/** What the request card shows. */
export interface RequestCardModel {
  /** Eligible roles, in catalog order. */
  readonly roles: readonly RequestCardRole[];
  /** The role the form is for; with one eligible role that role is chosen without asking. */
  readonly selectedRoleRef?: RoleRef;
  /** What the requester typed before, when the card comes back with errors. */
  readonly values?: {
    readonly duration?: string;
    readonly justification?: string;
    readonly ticketReference?: string;
  };
  /** Why the last submission was refused, worded for the requester; shown at the top in attention colour. */
  readonly errors?: readonly string[];
}

/** Renders the request card. NB. Submitted values are the requester's choice only: the server checks them all. */
export function renderRequestCard(model: RequestCardModel): CardJson {
  const selected =
    model.roles.find((r) => r.role.ref === model.selectedRoleRef) ??
    (model.roles.length === 1 ? model.roles[0] : undefined);
  const values = model.values ?? {};
  const policy = selected?.role;
  const durations = policy ? durationChoices(policy.duration) : [];
  const minLength = policy?.justification.minLength ?? 0;
  const justificationRequired = policy?.justification.required ?? false;
  const ticket = policy?.ticketReference;
  return renderCard(template, {
    inputs: CardInputIds,
    verbs: { submit: CardVerbs.requestSubmit, selectRole: CardVerbs.requestSelectRole },
    errors: model.errors ?? [],
    noRoles: model.roles.length === 0,
    roles: model.roles.map((r) => ({ title: `${r.appName} · ${r.role.name}`, value: r.role.ref })),
    selectedRoleRef: selected?.role.ref ?? '',
    hasSelectedRole: selected !== undefined,
    hasRoleDescription: Boolean(selected?.role.description),
    roleDescription: selected?.role.description ?? '',
    durations,
    selectedDuration: policy ? preselectedDuration(durations, policy.duration, values.duration) : '',
    justificationRequired,
    justificationLabel: justificationRequired ? 'Justification' : 'Justification (optional)',
    justificationHint:
      minLength > 0
        ? `Say why you need this access (at least ${minLength} characters).`
        : 'Say why you need this access.',
    justification: values.justification ?? '',
    ticketRequired: ticket?.required ?? false,
    ticketHint: ticket?.example
      ? `Enter the ticket this work belongs to, like ${ticket.example}.`
      : 'Enter the ticket this work belongs to.',
    ticketReference: values.ticketReference ?? '',
  });
}
