/** Response schemas of the auth, users and credentials routes, and the request bodies they validate (typed in the browser: api-types.ts). */
import { Type } from '@sinclair/typebox';
import { DB_TYPES } from '../../domain/db-type.js';
import { ROLES } from '../../domain/roles.js';
import { Closed, component, Nullable, StringEnum } from '../components.js';
import { Timestamp } from './instances.schemas.js';

const Role = StringEnum(ROLES);

export const User = component(
  'User',
  Closed({
    id: Type.Integer(),
    username: Type.String(),
    role: Role,
    is_active: Type.Boolean(),
    locale: Nullable(Type.String({ description: 'zh-CN or en; null: the browser decides' })),
    created_at: Timestamp,
  }),
);

export const Login = Closed({
  user: User,
  csrf_token: Type.String({ description: 'send it as X-CSRFToken on every write made with the cookie' }),
  expires_at: Timestamp,
});

export const Me = Closed({
  id: Type.Integer(),
  username: Type.String(),
  role: Role,
  locale: Nullable(Type.String()),
  via: StringEnum(['session', 'token'] as const),
  csrf_token: Nullable(Type.String({ description: 'cookie sessions only' })),
});
export const MyPreferences = Closed({ id: Type.Integer(), username: Type.String(), role: Role, locale: Nullable(Type.String()) });

export const TokenCreated = Closed({
  id: Type.Integer(),
  name: Type.String(),
  token: Type.String({ description: 'the bearer token: shown this once, stored only as a hash' }),
  token_prefix: Type.String(),
  expires_at: Nullable(Timestamp),
  created_at: Timestamp,
});
export const Token = component(
  'Token',
  Closed({
    id: Type.Integer(),
    name: Type.String(),
    username: Type.String(),
    token_prefix: Type.String(),
    created_at: Timestamp,
    last_used_at: Nullable(Timestamp),
    expires_at: Nullable(Timestamp),
    revoked_at: Nullable(Timestamp),
  }),
);

export const Unlocked = Closed({ user: User, addresses_cleared: Type.Integer() });

export const AuditEntry = component(
  'AuditEntry',
  Closed({
    id: Type.Integer(),
    at: Timestamp,
    user_id: Nullable(Type.Integer()),
    username: Nullable(Type.String()),
    action: Type.String(),
    target_type: Nullable(Type.String()),
    target_id: Nullable(Type.String()),
    source_ip: Nullable(Type.String()),
    details: Nullable(Type.String({ description: 'JSON text' })),
  }),
);

export const Credential = component(
  'Credential',
  Closed(
    {
      id: Type.Integer(),
      name: Type.String(),
      db_type: Nullable(Type.String()),
      username: Type.String(),
      has_password: Type.Literal(true),
      key_id: Type.String({ description: 'the key that encrypts the password' }),
      created_at: Timestamp,
      updated_at: Timestamp,
    },
    'A stored credential; the password is write-only',
  ),
);

// ---------------------------------------------------------------------------
// Request bodies (inline in the OpenAPI document, as before they moved here).
// ---------------------------------------------------------------------------

const Locale = StringEnum(['zh-CN', 'en']);

/** POST /api/auth/login */
export const LoginBody = Type.Object({ username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 256 }) }, { additionalProperties: false });

/** PATCH /api/auth/me */
export const MyPreferencesBody = Type.Object({ locale: Locale }, { additionalProperties: false });

/** POST /api/tokens */
export const CreateTokenBody = Type.Object(
  { name: Type.String({ maxLength: 128 }), expires_in_days: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()])) },
  { additionalProperties: false },
);

/** POST /api/users */
export const CreateUserBody = Type.Object(
  { username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 256 }), role: Type.Optional(Role) },
  { additionalProperties: false },
);

/** PATCH /api/users/:id */
export const UpdateUserBody = Type.Object(
  {
    password: Type.Optional(Type.String({ maxLength: 256 })),
    role: Type.Optional(Role),
    is_active: Type.Optional(Type.Boolean()),
    locale: Type.Optional(Locale),
  },
  { additionalProperties: false },
);

const credentialInput = {
  name: Type.String({ maxLength: 128 }),
  db_type: Type.Union([StringEnum(DB_TYPES), Type.Null()]),
  username: Type.String({ maxLength: 256 }),
  password: Type.String({ maxLength: 1024, description: 'write-only: never returned' }),
};

/** POST /api/credentials */
export const CreateCredentialBody = Type.Object({ ...credentialInput, db_type: Type.Optional(credentialInput.db_type) }, { additionalProperties: false });

/** PATCH /api/credentials/:id */
export const UpdateCredentialBody = Type.Partial(Type.Object(credentialInput), { additionalProperties: false });
