// Chinese words for the API's codes (pure: no DOM, no network).

export const FINDING_STATUS = { open: '待整改', submitted: '待复查', closed: '已销号', void: '已作废' };
export const SEVERITY = { general: '一般隐患', major: '重大事故隐患' };
export const MAJOR_STATUS = { suspected: '疑似重大', confirmed: '重大（已认定）', downgraded: '已降为一般' };
export const SOURCE = { inspection: '检查发现', report: '群众举报', manual: '人工登记' };
export const REPORT_STATUS = {
  received: '待核查',
  accepted: '已受理',
  resolved: '已整改完毕',
  rejected: '不予受理',
  duplicate: '重复举报',
};
export const ROLE = { inspector: '网格员', supervisor: '镇应急办', admin: '系统管理员' };

export const EVENT_ACTION = {
  create: '发现隐患',
  rectify: '提交整改',
  verify_pass: '复查通过，销号',
  verify_fail: '复查不通过，退回整改',
  extend: '批准延期',
  escalate: '督办升级',
  void: '作废',
  confirm_major: '认定为重大事故隐患',
  downgrade_major: '降为一般隐患',
  update_register: '修改挂牌督办信息',
  triage: '核查举报',
  received: '收到举报',
  resolved: '隐患整改完毕',
  reply: '修改答复',
  reward: '登记奖励',
  reward_paid: '发放奖励',
  finding_void: '所转隐患已作废',
  contact_read: '查看举报人联系方式',
};

/** "未督办" / "一级督办" …: the escalation level in words. */
export function escalationWords(level) {
  const n = Number(level) || 0;
  return ['未督办', '一级督办', '二级督办', '三级督办'][Math.min(Math.max(n, 0), 3)];
}

// The server's refusal `code` → what the supervisor reads.
export const ERROR_TEXT = {
  network: '连不上服务器，请检查网络后重试。',
  unauthorized: '登录已过期，请重新登录。',
  invalid_token: '登录已过期，请重新登录。',
  invalid_credentials: '用户名或密码错误。',
  rate_limited: '尝试次数太多，请稍后再试。',
  forbidden: '没有权限进行这项操作。',
  role_required: '没有权限进行这项操作。',
  not_found: '找不到这条记录，可能不在你的辖区。',
  finding_not_found: '找不到这条隐患，可能不在你的辖区。',
  report_not_found: '找不到这条举报，可能不在你的辖区。',
  validation_error: '填写的内容有误，请检查后重试。',
  id_conflict: '这次提交与之前的一次冲突，请刷新页面后重试。',
  internal_error: '服务器出错了，请稍后重试。',
  // finding transitions
  invalid_transition: '这条隐患当前的状态不允许这项操作，请刷新后查看。',
  already_submitted: '整改已经提交过了。',
  not_submitted: '还没有提交整改，不能复查。',
  finding_closed: '这条隐患已经销号。',
  finding_void: '这条隐患已经作废。',
  already_void: '这条隐患已经作废。',
  four_eyes: '整改是你提交的，须由其他人复查（四眼原则）。',
  deadline_in_past: '整改期限（时限）不能早于今天。',
  deadline_not_later: '新的整改期限必须晚于现在的期限。',
  deadline_too_late: '新的整改期限太远了。',
  deadline_too_far: '整改期限不能超过两年以后，请核对日期（需要时可以再延期）。',
  escalation_not_higher: '督办级别只能升高。',
  unknown_photos: '有照片还没有上传到服务器。',
  photo_not_found: '有照片还没有上传到服务器。',
  duplicate_photo_ids: '同一张照片选了两次。',
  invalid_characters: '填写的内容里有无法保存的字符。',
  invalid_cursor: '列表已变化，请刷新页面。',
  photo_required: '需要附照片。',
  photo_conflict: '照片上传冲突，请重新选择照片。',
  file_too_large: '照片太大，请换一张。',
  payload_too_large: '照片太大，请换一张。',
  unsupported_media_type: '有文件不是图片，请重新选择。',
  invalid_image: '有照片已损坏，请重新选择。',
  image_too_large: '照片太大，请换一张。',
  empty_file: '有照片是空的，请重新选择。',
  // major hazards
  not_suspected: '这条隐患不是待认定的疑似重大隐患（可能已被别人处理），请刷新后查看。',
  register_required: '认定为重大事故隐患时，必须填写“五落实”和督办人。',
  decided_on_in_future: '认定日期不能晚于今天。',
  not_confirmed: '只有已认定的重大事故隐患才有挂牌督办信息。',
  major_decision_pending: '疑似重大隐患还没有认定或降级，不能销号。',
  evidence_required: '重大事故隐患销号必须有整改或复查照片作为证据。',
  // reports
  already_triaged: '这条举报已经被处理过了，请刷新后查看。',
  area_required: '请选择隐患所在的村（社区）或场所。',
  venue_required: '请选择隐患所在的村（社区）或场所。',
  venue_not_found: '找不到这个场所，或不在你的辖区。',
  assignment_voided: '派这名网格员去检查的双随机抽查已作废，该场所不在其辖区。',
  duplicate_target_not_found: '找不到被重复的举报或隐患。',
  duplicate_of_self: '举报不能重复它自己。',
  unknown_area: '没有这个区域。',
  area_not_found: '没有这个区域。',
  area_out_of_scope: '这个区域不在你的辖区。',
  // figures and exports
  invalid_period: '统计时段有误：开始日期不能晚于结束日期，时段也不能太长。',
  export_too_large: '要导出的记录太多，请缩小筛选范围。',
  // 双随机 draws
  count_or_ratio: '请填写抽取家数。',
  ratio_too_small: '抽取比例不能低于 5%。',
  count_exceeds_population: '抽取家数超过了该区域符合条件的场所数。',
  empty_population: '该区域没有符合条件的场所。',
  too_few_inspectors: '每家至少派 2 名检查人员。',
  unknown_venue_kind: '场所类型不正确，请刷新页面后重试。',
  due_date_passed: '完成期限不能早于今天。',
  not_enough_inspectors: '可派的检查人员不够（不派本网格的网格员）：请减少每家的人数或缩小范围。',
  draw_conflict: '这次抽取与之前的一次冲突，请关闭后重新抽取。',
  draw_started: '抽中的场所已有检查结果，这次抽查正在进行，不能再作废。',
  draw_voided: '这次抽查已经作废过了（理由不同），请刷新后查看。',
};

/** The Chinese message for a failed call's {status, problem}. */
export function errorText(r) {
  const p = (r && r.problem) || {};
  if (r && r.status === 0) return ERROR_TEXT.network;
  if (p.code && ERROR_TEXT[p.code]) return ERROR_TEXT[p.code];
  if (r && r.status === 403) return ERROR_TEXT.forbidden;
  if (r && r.status === 404) return ERROR_TEXT.not_found;
  if (r && r.status === 409) return ERROR_TEXT.invalid_transition;
  if (r && r.status === 422) return ERROR_TEXT.validation_error;
  return `操作没有成功（${(r && r.status) || '?'}${p.code ? ` ${p.code}` : ''}），请稍后重试。`;
}
