// Checks of what clients send: each bad value is a BAD_USER_INPUT naming the field, in Chinese.
import { userError } from '../../platform/errors.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { checkCreditCode } from './domain/credit-code.ts';
import type { ContactInput } from './generated/graphql.ts';
import type { ContactDoc, GeoPoint } from './model.ts';

const bad = (field: string, message: string) => userError('BAD_USER_INPUT', message, { field });

export function text(value: string | null | undefined, field: string, label: string, max: number): string {
  const trimmed = value?.trim() ?? '';
  if (!trimmed) throw bad(field, `${label}不能为空 (${field} is required)`);
  if ([...trimmed].length > max) throw bad(field, `${label}不能超过 ${max} 字 (${field} is longer than ${max} characters)`);
  return trimmed;
}

export function optionalText(value: string | null | undefined, field: string, label: string, max: number): string | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  return text(value, field, label, max);
}

/** A credit code, normalized (trimmed, upper-cased), or BAD_USER_INPUT saying what is wrong. */
export function creditCode(value: string, field = 'creditCode'): string {
  const checked = checkCreditCode(value);
  if (!checked.ok) throw userError('BAD_USER_INPUT', checked.message, { field, problem: checked.problem.kind });
  return checked.code;
}

export function point(value: GeoPoint, field: string): GeoPoint {
  const { lng, lat } = value;
  // Guangzhou lies near 113°E, 23°N: a point the other way round is almost surely swapped.
  const swapped = Math.abs(lat) > 90 && Math.abs(lat) <= 180 && Math.abs(lng) <= 90;
  if (swapped || (lng < 60 && lat > 60)) throw bad(field, `坐标的经纬度可能颠倒：${lng}, ${lat} (longitude and latitude swapped?)`);
  if (!Number.isFinite(lng) || !Number.isFinite(lat) || lng < -180 || lng > 180 || lat < -90 || lat > 90) {
    throw bad(field, `坐标无效：${lng}, ${lat} (invalid coordinates)`);
  }
  return { lng, lat };
}

const PHONE = /^[0-9+\-() ]{5,30}$/;

export function contacts(list: ContactInput[] | null | undefined, field = 'contacts'): ContactDoc[] {
  const items = list ?? [];
  if (items.length > 5) throw bad(field, `联系人最多 5 位 (at most 5 contacts)`);
  return items.map((c, i) => contact(c, `${field}[${i}]`));
}

export function contact(c: ContactInput, field: string): ContactDoc {
  const phone = optionalText(c.phone, `${field}.phone`, '联系电话', 30);
  if (phone && !PHONE.test(phone)) throw bad(`${field}.phone`, `联系电话格式无效：${phone} (invalid phone)`);
  return {
    name: text(c.name, `${field}.name`, '联系人姓名', 50),
    ...(c.title?.trim() && { title: text(c.title, `${field}.title`, '职务', 50) }),
    ...(phone && { phone }),
  };
}

export function number(value: number | null | undefined, field: string, label: string, min: number, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isFinite(value) || value < min || value > max) throw bad(field, `${label}须在 ${min} 至 ${max} 之间：${value} (${field} out of range)`);
  return value;
}

export function range(min: number | undefined, max: number | undefined, field: string, label: string): void {
  if (min !== undefined && max !== undefined && min > max) {
    throw bad(field, `${label}下限 ${min} 大于上限 ${max} (min is greater than max)`);
  }
}

export function street(id: string, directory: UnitDirectory, field = 'streetId'): string {
  const unit = directory.get(id);
  if (!unit || unit.kind !== 'street') throw bad(field, `街道不存在：${id} (unknown street)`);
  return id;
}

export function unit(id: string, directory: UnitDirectory, field = 'unitId'): string {
  if (!directory.get(id)) throw bad(field, `单位不存在：${id} (unknown unit)`);
  return id;
}
