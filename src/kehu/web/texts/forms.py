"""Strings of forms: what is wrong with a field, in the page's language."""

TEXTS: dict[str, tuple[str, str]] = {
    "web_err_required": ("必填", "Required"),
    "web_err_too_long": ("最多 {max} 个字符", "At most {max} characters"),
    "web_err_too_short": ("至少 {min} 个字符", "At least {min} characters"),
    "web_err_too_many": ("选择的项目过多", "Too many items chosen"),
    "web_err_number": ("请输入数字，例如 12.5", "Enter a number, e.g. 12.5"),
    "web_err_whole_number": ("请输入整数，例如 100", "Enter a whole number, e.g. 100"),
    "web_err_greater_than": ("须大于 {limit}", "Must be more than {limit}"),
    "web_err_at_least": ("不能小于 {limit}", "Must be at least {limit}"),
    "web_err_less_than": ("须小于 {limit}", "Must be less than {limit}"),
    "web_err_at_most": ("不能大于 {limit}", "Must be at most {limit}"),
    "web_err_date": ("日期格式应为 2024-07-01", "Enter a date as 2024-07-01"),
    "web_err_datetime": ("时间格式应为 2024-07-01 14:30", "Enter a time as 2024-07-01 14:30"),
    "web_err_choice": ("请从列表中选择", "Choose one of the list"),
    "web_err_pattern": ("格式不正确", "Not in the expected form"),
    "web_err_url": ("请输入 http(s) 网址", "Enter an http(s) address"),
    "web_err_invalid": ("内容无效", "Not valid"),
    "web_err_not_found": (
        "未找到，或不在您的客户范围内",
        "Not found, or not one of yours",
    ),
    "web_err_conflict": ("该编号已被占用", "This id is already taken"),
    "web_err_forbidden": ("您的角色不能进行此操作", "Your role may not do this"),
    "web_err_refused": (
        "无法保存：内容与现有数据不符，请检查后重试",
        "Could not be saved: it does not fit the data as it is; check and try again",
    ),
    "web_err_stale": (
        "该记录在您打开表单后已被修改，请查看最新内容后重试",
        "This record changed after you opened the form; look at it again and retry",
    ),
    "web_form_has_errors": ("表单有误，请修改标出的字段", "Please correct the marked fields"),
    "web_save": ("保存", "Save"),
    "web_cancel": ("取消", "Cancel"),
    "web_optional": ("选填", "optional"),
}
