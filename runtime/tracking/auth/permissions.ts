import { MlflowError } from '../http/errors';

/**
 * MLflow's permission levels (mlflow/server/auth/permissions.py): each grants a fixed set of
 * capabilities on one experiment or registered model. Runs, artifacts and logged models inherit
 * their experiment's permission; model versions and aliases their registered model's.
 */
export interface Permission {
  name: PermissionName;
  can_read: boolean;
  can_update: boolean;
  can_delete: boolean;
  can_manage: boolean;
}

export const PERMISSION_NAMES = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
export type PermissionName = (typeof PERMISSION_NAMES)[number];
export type Action = 'read' | 'update' | 'delete' | 'manage';

export const PERMISSIONS: Record<PermissionName, Permission> = {
  READ: { name: 'READ', can_read: true, can_update: false, can_delete: false, can_manage: false },
  EDIT: { name: 'EDIT', can_read: true, can_update: true, can_delete: false, can_manage: false },
  MANAGE: { name: 'MANAGE', can_read: true, can_update: true, can_delete: true, can_manage: true },
  NO_PERMISSIONS: { name: 'NO_PERMISSIONS', can_read: false, can_update: false, can_delete: false, can_manage: false },
};

export function isPermissionName(value: unknown): value is PermissionName {
  return typeof value === 'string' && (PERMISSION_NAMES as readonly string[]).includes(value);
}

/** Validates a permission name from a request, with MLflow's message. */
export function parsePermission(value: unknown): PermissionName {
  if (!isPermissionName(value)) {
    throw MlflowError.invalid(`Invalid permission '${String(value)}'. Valid permissions are: (${PERMISSION_NAMES.map((p) => `'${p}'`).join(', ')})`);
  }
  return value;
}

export function allows(permission: PermissionName, action: Action): boolean {
  const p = PERMISSIONS[permission];
  return action === 'read' ? p.can_read : action === 'update' ? p.can_update : action === 'delete' ? p.can_delete : p.can_manage;
}
